// SPDX-License-Identifier: GPL-2.0
// The lab's BPF_DROP fault: a tc program, as a CNI or a security agent would attach one, that
// drops every IPv4 or IPv6 packet to or from one address (written into `lab_drop_target` after
// load) and passes everything else, neighbour discovery and ARP included. Attached by
// `netdoctor-lab break BPF_DROP` to a pod's host-side veth; the lab only, never the product.
// CILIUM_DROP: the same drop by a program named as Cilium's (cil_to_container), which counts it
// in a cilium_metrics of Cilium's 1.16+ layout (bpf/lib/common.h struct metrics_key/value), as
// Cilium's datapath counts a policy drop: a stand-in of that one piece (docs/cilium.md).
// CALICO_EBPF_DROP: the same drop by a program named as Calico's (calico_tc_main), which counts it
// in a cali_counters3 of Calico 3.30's layout (felix/bpf-gpl/counters.h: a per-CPU hash keyed
// by ifindex and hook, 17 u64 counters indexed by enum calico_reason) as its policy drop
// (CALI_REASON_DROPPED_BY_POLICY, 4) on the tc egress hook (1: traffic to a workload).
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct drop_target {
    __u8 family;  // 4 or 6; 0: drop nothing
    __u8 pad[3];
    __u8 address[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct drop_target);
} lab_drop_target SEC(".maps");

// struct metrics_key (1.16+): reason (the drop code negated, as a u8), direction in the low two
// bits, the datapath line and file that counted it; struct metrics_value: count, bytes.
struct metrics_key {
    __u8 reason;
    __u8 dir;
    __u16 line;
    __u8 file;
    __u8 reserved[3];
};

struct metrics_value {
    __u64 count;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 1024);
    __type(key, struct metrics_key);
    __type(value, struct metrics_value);
} cilium_metrics SEC(".maps");

struct counters_key {
    __u32 ifindex;
    __u32 hook;  // 0 tc ingress, 1 tc egress, 2 XDP
};

struct counters_value {
    __u64 counter[17];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 20000);
    __type(key, struct counters_key);
    __type(value, struct counters_value);
} cali_counters3 SEC(".maps");

static __always_inline int equal(const __u8 *x, const __u8 *y, int n) {
    for (int i = 0; i < 16; i++) {
        if (i >= n) break;
        if (x[i] != y[i]) return 0;
    }
    return 1;
}

// Whether the packet is to or from the target address (neighbour discovery and ARP never are).
static __always_inline int targeted(struct __sk_buff *skb) {
    __u32 zero = 0;
    struct drop_target *target = bpf_map_lookup_elem(&lab_drop_target, &zero);
    if (!target || !target->family) return 0;
    __u8 header[40];
    if (skb->protocol == __builtin_bswap16(0x0800) && target->family == 4) {
        if (bpf_skb_load_bytes(skb, 14, header, 20)) return 0;
        return equal(header + 12, target->address, 4) || equal(header + 16, target->address, 4);
    }
    if (skb->protocol == __builtin_bswap16(0x86DD) && target->family == 6) {
        if (bpf_skb_load_bytes(skb, 14, header, 40)) return 0;
        if (header[6] == 58) {  // ICMPv6: neighbour discovery passes, echo does not
            __u8 type = 0;
            if (bpf_skb_load_bytes(skb, 14 + 40, &type, 1)) return 0;
            if (type >= 133 && type <= 137) return 0;
        }
        return equal(header + 8, target->address, 16) || equal(header + 24, target->address, 16);
    }
    return 0;
}

SEC("tc")
int lab_drop_probe(struct __sk_buff *skb) { return targeted(skb) ? TC_ACT_SHOT : TC_ACT_OK; }

// Cilium's DROP_POLICY (-133) on the way into the pod (METRIC_INGRESS), counted as bpf_lxc.c
// (file id 2, pkg/monitor/api/files.go) would count it, at this stand-in's own line.
SEC("tc")
int cil_to_container(struct __sk_buff *skb) {
    if (!targeted(skb)) return TC_ACT_OK;
    struct metrics_key key = {.reason = 133, .dir = 1, .line = __LINE__, .file = 2};
    struct metrics_value *value = bpf_map_lookup_elem(&cilium_metrics, &key);
    if (value) {
        value->count += 1;
        value->bytes += skb->len;
    } else {
        struct metrics_value first = {.count = 1, .bytes = skb->len};
        bpf_map_update_elem(&cilium_metrics, &key, &first, BPF_NOEXIST);
    }
    return TC_ACT_SHOT;
}

// Calico's policy drop on the way to a workload: the total and DROPPED_BY_POLICY counted, as
// felix's programs count them (counters.h: an entry made if missing).
SEC("tc")
int calico_tc_main(struct __sk_buff *skb) {
    struct counters_key key = {.ifindex = skb->ifindex, .hook = 1};
    struct counters_value *value = bpf_map_lookup_elem(&cali_counters3, &key);
    if (!value) {
        struct counters_value zero = {};
        bpf_map_update_elem(&cali_counters3, &key, &zero, BPF_NOEXIST);
        value = bpf_map_lookup_elem(&cali_counters3, &key);
        if (!value) return TC_ACT_OK;
    }
    value->counter[0] += 1;
    if (!targeted(skb)) return TC_ACT_OK;
    value->counter[4] += 1;
    return TC_ACT_SHOT;
}

// An XDP program that passes everything: what scripts/capture-netlink-fixtures attaches (with
// ip link set … xdpgeneric) to record a link's IFLA_XDP as the kernel reports it.
SEC("xdp")
int lab_xdp_pass(struct xdp_md *context) { return XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";
