// SPDX-License-Identifier: GPL-2.0
// The lab's BPF_DROP fault: a tc program, as a CNI or a security agent would attach one, that
// drops every IPv4 or IPv6 packet to or from one address (written into `lab_drop_target` after
// load) and passes everything else, neighbour discovery and ARP included. Attached by
// `netdoctor-lab break BPF_DROP` to a pod's host-side veth; the lab only, never the product.
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

static __always_inline int equal(const __u8 *x, const __u8 *y, int n) {
    for (int i = 0; i < 16; i++) {
        if (i >= n) break;
        if (x[i] != y[i]) return 0;
    }
    return 1;
}

SEC("tc")
int lab_drop_probe(struct __sk_buff *skb) {
    __u32 zero = 0;
    struct drop_target *target = bpf_map_lookup_elem(&lab_drop_target, &zero);
    if (!target || !target->family) return TC_ACT_OK;
    __u8 header[40];
    if (skb->protocol == __builtin_bswap16(0x0800) && target->family == 4) {
        if (bpf_skb_load_bytes(skb, 14, header, 20)) return TC_ACT_OK;
        if (equal(header + 12, target->address, 4) || equal(header + 16, target->address, 4)) return TC_ACT_SHOT;
    } else if (skb->protocol == __builtin_bswap16(0x86DD) && target->family == 6) {
        if (bpf_skb_load_bytes(skb, 14, header, 40)) return TC_ACT_OK;
        if (header[6] == 58) {  // ICMPv6: neighbour discovery passes, echo does not
            __u8 type = 0;
            if (bpf_skb_load_bytes(skb, 14 + 40, &type, 1)) return TC_ACT_OK;
            if (type >= 133 && type <= 137) return TC_ACT_OK;
        }
        if (equal(header + 8, target->address, 16) || equal(header + 24, target->address, 16)) return TC_ACT_SHOT;
    }
    return TC_ACT_OK;
}

// An XDP program that passes everything: what scripts/capture-netlink-fixtures attaches (with
// ip link set … xdpgeneric) to record a link's IFLA_XDP as the kernel reports it.
SEC("xdp")
int lab_xdp_pass(struct xdp_md *context) { return XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";
