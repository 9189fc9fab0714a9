// SPDX-License-Identifier: GPL-2.0
// netdoctor's drop-reason probe: a raw tracepoint on skb:kfree_skb that reports the kernel's
// own reason for freeing a packet, only for the packets of one probe (the flows user space
// writes into `probe_flows` before sending). Everything else the node frees is ignored in the
// kernel: nothing about other traffic reaches user space.
//
// Built by scripts/gen-bpf with clang's BPF target (-g: the BTF libbpf needs to relocate the
// field offsets below against the running kernel's own BTF, so one object runs on every kernel
// with BTF and drop reasons, 5.17+). The object and its C array are committed.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

// The kernel's types, only the fields read here: libbpf matches them by name against
// /sys/kernel/btf/vmlinux (CO-RE), whatever their offsets in the running kernel.
struct ns_common { unsigned int inum; } __attribute__((preserve_access_index));
struct net { struct ns_common ns; } __attribute__((preserve_access_index));
typedef struct { struct net *net; } possible_net_t;
struct net_device { int ifindex; possible_net_t nd_net; } __attribute__((preserve_access_index));
struct sk_buff {
    struct net_device *dev;
    unsigned char *head;
    __u16 network_header;
    __u16 transport_header;
    int skb_iif;
} __attribute__((preserve_access_index));

#define MAX_FLOWS 2
#define NO_HEADER 0xFFFF

// One probe's packets: its two addresses (either direction), its protocol, and for TCP/UDP the
// destination port (the request's destination, the reply's source). family 0: an unused slot.
// `a` all zero: any address (a remote node's half, where the request may arrive masqueraded by
// the sender's CNI; user space then keeps only the source the captures saw arrive).
struct probe_flow {
    __u8 family;  // 4 or 6
    __u8 protocol;  // IPPROTO_*; ICMP and ICMPv6 included
    __u16 port;  // network order; 0: any
    __u8 a[16];  // an IPv4 address in the first 4 bytes, the rest zero
    __u8 b[16];
};

// What user space reads: one record per packet of the probe the kernel dropped.
struct drop_event {
    __u64 location;  // the kernel address that freed it (symbolised through /proc/kallsyms)
    __u64 time_ns;
    __u32 reason;  // enum skb_drop_reason, named from the kernel's BTF
    __u32 ifindex;  // skb->dev's, or the arrival interface's when dev is gone
    __u32 netns;  // the device's network namespace inode; 0 when unknown
    __u8 family;
    __u8 protocol;
    __u16 source_port;
    __u8 source[16];
    __u8 destination[16];
    __u16 destination_port;
    __u16 flow;  // which probe_flows slot matched
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MAX_FLOWS);
    __type(key, __u32);
    __type(value, struct probe_flow);
} probe_flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} drop_events SEC(".maps");

// Records lost because the ring was full (slot 0): said, never silently dropped.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} lost_events SEC(".maps");

// Addresses are compared as two 64-bit words (IPv4's zero-padded): no loop, few verifier states.
static __always_inline int unset(const __u8 *x) {
    __u64 w[2];
    __builtin_memcpy(w, x, 16);
    return (w[0] | w[1]) == 0;
}

static __always_inline int same(const __u8 *x, const __u8 *y) {
    __u64 p[2], q[2];
    __builtin_memcpy(p, x, 16);
    __builtin_memcpy(q, y, 16);
    return p[0] == q[0] && p[1] == q[1];
}

SEC("raw_tp/kfree_skb")
int netdoctor_drop_reason(struct bpf_raw_tracepoint_args *ctx) {
    struct sk_buff *skb = (struct sk_buff *)ctx->args[0];
    __u32 reason = (__u32)ctx->args[2];
    if (reason <= 1) return 0;  // SKB_CONSUMED (and 0): a normal free, not a drop

    unsigned char *head = BPF_CORE_READ(skb, head);
    __u16 network = BPF_CORE_READ(skb, network_header);
    if (!head || network == NO_HEADER) return 0;
    __u8 first = 0;
    if (bpf_probe_read_kernel(&first, 1, head + network)) return 0;

    struct drop_event event = {};
    __u16 transport = 0;
    if ((first >> 4) == 4) {
        __u8 header[20];
        if (bpf_probe_read_kernel(header, sizeof header, head + network)) return 0;
        event.family = 4;
        event.protocol = header[9];
        __builtin_memcpy(event.source, header + 12, 4);
        __builtin_memcpy(event.destination, header + 16, 4);
        transport = network + (header[0] & 0x0F) * 4;
    } else if ((first >> 4) == 6) {
        __u8 header[40];
        if (bpf_probe_read_kernel(header, sizeof header, head + network)) return 0;
        event.family = 6;
        event.protocol = header[6];  // the next header; extension headers are not followed
        __builtin_memcpy(event.source, header + 8, 16);
        __builtin_memcpy(event.destination, header + 24, 16);
        transport = network + 40;
    } else {
        return 0;
    }
    if (event.protocol == 6 || event.protocol == 17) {
        __u16 ports[2] = {};
        if (!bpf_probe_read_kernel(ports, sizeof ports, head + transport)) {
            event.source_port = ports[0];
            event.destination_port = ports[1];
        }
    } else if (event.protocol == 1 || event.protocol == 58) {
        // Only echo requests and replies are a probe's: neighbour discovery between the same
        // two addresses (an IPv6 neighbour advertisement) is not.
        __u8 type = 0;
        if (bpf_probe_read_kernel(&type, 1, head + transport)) return 0;
        if (event.protocol == 1 && type != 0 && type != 8) return 0;
        if (event.protocol == 58 && type != 128 && type != 129) return 0;
    }

    int matched = -1;
    for (__u32 slot = 0; slot < MAX_FLOWS; slot++) {
        __u32 key = slot;
        struct probe_flow *flow = bpf_map_lookup_elem(&probe_flows, &key);
        if (!flow || flow->family != event.family) continue;
        if (flow->protocol && flow->protocol != event.protocol) continue;
        int any = unset(flow->a);
        int forward = (any || same(event.source, flow->a)) && same(event.destination, flow->b);
        int backward = same(event.source, flow->b) && (any || same(event.destination, flow->a));
        if (!forward && !backward) continue;
        if (flow->port && (event.protocol == 6 || event.protocol == 17)) {
            if (forward && event.destination_port != flow->port) continue;
            if (backward && event.source_port != flow->port) continue;
        }
        matched = slot;
        break;
    }
    if (matched < 0) return 0;

    event.flow = matched;
    event.reason = reason;
    event.location = (__u64)ctx->args[1];
    event.time_ns = bpf_ktime_get_ns();
    struct net_device *dev = BPF_CORE_READ(skb, dev);
    if (dev) {
        event.ifindex = BPF_CORE_READ(dev, ifindex);
        event.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
    } else {
        event.ifindex = BPF_CORE_READ(skb, skb_iif);
    }
    if (bpf_ringbuf_output(&drop_events, &event, sizeof event, 0)) {
        __u32 zero = 0;
        __u64 *lost = bpf_map_lookup_elem(&lost_events, &zero);
        if (lost) __sync_fetch_and_add(lost, 1);
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
