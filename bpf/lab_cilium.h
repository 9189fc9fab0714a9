// SPDX-License-Identifier: GPL-2.0
// The lab's stand-in of Cilium's datapath (`lab up --topology cilium`): programs of the lab's own
// that keep Cilium's maps under Cilium's names and layouts, as docs/cilium.md gives them from
// Cilium's sources, so that netdoctor reads them exactly as it reads a real node's. Compiled
// twice by scripts/gen-bpf: lab_cilium_115.bpf.c (1.15's layouts) and lab_cilium_118.bpf.c
// (1.18's: cilium_ipcache_v2, cilium_policy_v2_NNNNN of 8-byte entries, cilium_policystats,
// metrics keys with the datapath's line and file). It is not Cilium: one lookup path per packet
// (conntrack for load-balanced connections only, no proxy, no egress policy, no masquerading), written for the lab only; the product never
// loads it. What it does, and in which of Cilium's words:
//   cil_from_container (tc ingress of a pod's lxc veth: what the pod sends): a remote pod's
//     address is sent through cilium_vxlan to the tunnel endpoint the ipcache gives it, with the
//     source's identity as the VNI (as Cilium's tunnel does); a pod address without one is
//     DROP_NO_TUNNEL_ENDPOINT (160); a Service's frontend is load-balanced to a backend from the
//     LB maps (DNAT, with conntrack entries in Cilium's CT maps as Cilium writes them for it; the
//     reply translated back by them and the reverse-NAT map), DROP_NO_SERVICE (158) when it has
//     none.
//   cil_from_overlay (tc ingress of cilium_vxlan): the VNI's identity carried in the mark
//     (MARK_MAGIC_IDENTITY, as Cilium carries it), the packet handed to the stack.
//   cil_to_container (tc egress of the lxc veth: what the pod receives): the source's identity
//     (from the mark, else the ipcache, else world), then a tail call through cilium_call_policy
//     at the endpoint's id, DROP_MISSED_TAIL_CALL (140) when the slot is empty.
//   the policy program (handle_policy in 1.15, cil_lxc_policy in 1.18, its slot's program):
//     the endpoint's policy map (found through lab_endpoint_policy, the stand-in's own map of
//     maps, where Cilium compiles the map into each endpoint's program) looked up for the
//     identity, then for any identity; a deny entry wins (181), no entry is DROP_POLICY (133).
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef CILIUM_LAYOUT
#error "CILIUM_LAYOUT (115 or 118) must be defined"
#endif

#define DROP_POLICY 133
#define DROP_MISSED_TAIL_CALL 140
#define DROP_NO_SERVICE 158
#define DROP_NO_TUNNEL_ENDPOINT 160
#define DROP_POLICY_DENY 181
#define METRIC_INGRESS 1
#define METRIC_EGRESS 2
#define FILE_BPF_LXC 2
#define FILE_BPF_OVERLAY 3
#define MARK_MAGIC_IDENTITY 0x0F00
#define MARK_MAGIC_MASK 0x0F00
#define WORLD_ID 2
#define ENDPOINT_KEY_IPV4 1
#define ENDPOINT_KEY_IPV6 2

// ---- Cilium's maps, as bpf/lib/common.h lays them out (docs/cilium.md §3) ----

// struct metrics_key: 1.14-1.15 keep 6 reserved bytes where 1.16+ keep line and file.
struct metrics_key {
    __u8 reason;
    __u8 dir;
#if CILIUM_LAYOUT >= 116
    __u16 line;
    __u8 file;
    __u8 reserved[3];
#else
    __u16 reserved[3];
#endif
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
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} cilium_metrics SEC(".maps");

struct endpoint_key {
    union {
        __u32 ip4;
        __u8 ip6[16];
    };
    __u8 family;
    __u8 key;
    __u16 cluster_id;
};

struct endpoint_info {
    __u32 ifindex;
    __u16 unused;
    __u16 lxc_id;
    __u32 flags;
    __u32 pad0;
    __u64 mac;
    __u64 node_mac;
    __u32 sec_id;
#if CILIUM_LAYOUT >= 117
    __u32 parent_ifindex;
    __u32 pad[2];
#else
    __u32 pad[3];
#endif
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65535);
    __type(key, struct endpoint_key);
    __type(value, struct endpoint_info);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} cilium_lxc SEC(".maps");

struct ipcache_key {
    __u32 prefixlen;
    __u16 cluster_id;
    __u8 pad1;
    __u8 family;
    union {
        __u32 ip4;
        __u8 ip6[16];
    };
} __attribute__((packed));

#if CILIUM_LAYOUT >= 118
struct remote_endpoint_info {
    __u32 sec_identity;
    __u32 tunnel_endpoint[4];
    __u16 pad;
    __u8 key;
    __u8 flags;  // bit 0 skip_tunnel, bit 1 has_tunnel_ep, bit 2 ipv6_tunnel_ep
};
#define IPCACHE_MAP cilium_ipcache_v2
#define TUNNEL_ENDPOINT(info) ((info)->flags & 2 ? (info)->tunnel_endpoint[0] : 0)
#else
struct remote_endpoint_info {
    __u32 sec_identity;
    __u32 tunnel_endpoint;
    __u16 pad;
    __u8 key;
    __u8 flags;
};
#define IPCACHE_MAP cilium_ipcache
#define TUNNEL_ENDPOINT(info) ((info)->tunnel_endpoint)
#endif

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 512000);
    __type(key, struct ipcache_key);
    __type(value, struct remote_endpoint_info);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} IPCACHE_MAP SEC(".maps");

struct policy_key {
    __u32 lpm_key;
    __u32 sec_label;
    __u8 egress;
    __u8 protocol;
    __u16 dport;  // network order
};

struct policy_entry {
    __u16 proxy_port;
    __u8 flags;  // bit 0 deny
    __u8 auth_type;
    __u8 pad[4];
#if CILIUM_LAYOUT < 118
    __u64 packets;
    __u64 bytes;
#endif
};

// One endpoint's policy map: what the stand-in's map of maps holds (each is pinned by the lab as
// cilium_policy_NNNNN or cilium_policy_v2_NNNNN).
struct policy_map {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 16384);
    __uint(key_size, sizeof(struct policy_key));
    __uint(value_size, sizeof(struct policy_entry));
    __uint(map_flags, BPF_F_NO_PREALLOC);
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 65535);
    __type(key, __u32);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
    __array(values, struct policy_map);
} lab_endpoint_policy SEC(".maps");

#if CILIUM_LAYOUT >= 118
struct policy_stats_key {
    __u16 endpoint_id;
    __u8 pad1;
    __u8 prefix_len;
    __u32 sec_label;
    __u8 egress;
    __u8 protocol;
    __u16 dport;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct policy_stats_key);
    __type(value, struct metrics_value);
    __uint(map_flags, BPF_F_NO_COMMON_LRU);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} cilium_policystats SEC(".maps");
#endif

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 65535);
    __type(key, __u32);
    __type(value, __u32);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} cilium_call_policy SEC(".maps");

// The LB maps (bpf/lib/lb.h): frontends by address, port and slot; backends by id; reverse NAT.
struct lb4_key {
    __u32 address;
    __u16 dport;
    __u16 backend_slot;
    __u8 proto;
    __u8 scope;
    __u8 pad[2];
};

struct lb6_key {
    __u8 address[16];
    __u16 dport;
    __u16 backend_slot;
    __u8 proto;
    __u8 scope;
    __u8 pad[2];
};

struct lb_service {
    __u32 backend_id;
    __u16 count;
    __u16 rev_nat_index;  // network order
    __u8 flags;
    __u8 flags2;
    __u16 pad;
};

struct lb4_backend {
    __u32 address;
    __u16 port;
    __u8 proto;
    __u8 flags;
    __u16 cluster_id;
    __u8 zone;
    __u8 pad;
};

struct lb6_backend {
    __u8 address[16];
    __u16 port;
    __u8 proto;
    __u8 flags;
    __u16 cluster_id;
    __u8 zone;
    __u8 pad;
};

struct lb4_reverse_nat {
    __u32 address;
    __u16 port;
} __attribute__((packed));

struct lb6_reverse_nat {
    __u8 address[16];
    __u16 port;
} __attribute__((packed));

#define LB_MAP(name, k, v, n)                   \
    struct {                                    \
        __uint(type, BPF_MAP_TYPE_HASH);        \
        __uint(max_entries, n);                 \
        __type(key, k);                         \
        __type(value, v);                       \
        __uint(map_flags, BPF_F_NO_PREALLOC);   \
        __uint(pinning, LIBBPF_PIN_BY_NAME);    \
    } name SEC(".maps")

LB_MAP(cilium_lb4_services_v2, struct lb4_key, struct lb_service, 65536);
LB_MAP(cilium_lb4_backends_v3, __u32, struct lb4_backend, 65536);
LB_MAP(cilium_lb4_reverse_nat, __u16, struct lb4_reverse_nat, 65536);
LB_MAP(cilium_lb6_services_v2, struct lb6_key, struct lb_service, 65536);
LB_MAP(cilium_lb6_backends_v3, __u32, struct lb6_backend, 65536);
LB_MAP(cilium_lb6_reverse_nat, __u16, struct lb6_reverse_nat, 65536);

// The stand-in's own: cilium_vxlan's ifindex and the cluster's pod ranges (an address in them
// that the ipcache gives no tunnel endpoint is DROP_NO_TUNNEL_ENDPOINT).
struct lab_config {
    __u32 vxlan_ifindex;
    __u32 pod_range4;       // network order
    __u32 pod_range4_mask;  // network order
    __u32 pad;
    __u64 pod_range6;       // the first 8 bytes of the IPv6 range, as they lie in the packet
    __u64 pod_range6_mask;  // 0: no IPv6 range
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct lab_config);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} lab_cilium_config SEC(".maps");

// Cilium's conntrack (bpf/lib/common.h struct ipv4_ct_tuple / ipv6_ct_tuple, struct ct_entry;
// docs/cilium.md §3.8): the stand-in writes the entries of a load-balanced connection as
// lb4_local and the egress pass write them, and translates replies back by them. TCP's go to
// cilium_ct{4,6}_global, the rest to cilium_ct_any{4,6}_global.
struct ipv4_ct_tuple {
    __u32 daddr;
    __u32 saddr;
    __u16 dport;
    __u16 sport;
    __u8 nexthdr;
    __u8 flags;
} __attribute__((packed));

struct ipv6_ct_tuple {
    __u8 daddr[16];
    __u8 saddr[16];
    __u16 dport;
    __u16 sport;
    __u8 nexthdr;
    __u8 flags;
} __attribute__((packed));

#define TUPLE_F_OUT 0
#define TUPLE_F_SERVICE 4

struct ct_entry {
    __u64 reserved0;  // 1.14-1.15: rx_packets
    __u64 backend_id; // 1.14-1.15: rx_bytes, or the backend (service entries)
    __u64 packets;
    __u64 bytes;
    __u32 lifetime;
    __u16 flags;
    __u16 rev_nat_index;  // network order
    __u16 ifindex;
    __u8 tx_flags_seen;
    __u8 rx_flags_seen;
    __u32 src_sec_id;
    __u32 last_tx_report;
    __u32 last_rx_report;
};

#define CT_MAP(name, k)                         \
    struct {                                    \
        __uint(type, BPF_MAP_TYPE_LRU_HASH);    \
        __uint(max_entries, 65536);             \
        __type(key, k);                         \
        __type(value, struct ct_entry);         \
        __uint(pinning, LIBBPF_PIN_BY_NAME);    \
    } name SEC(".maps")

CT_MAP(cilium_ct4_global, struct ipv4_ct_tuple);
CT_MAP(cilium_ct_any4_global, struct ipv4_ct_tuple);
CT_MAP(cilium_ct6_global, struct ipv6_ct_tuple);
CT_MAP(cilium_ct_any6_global, struct ipv6_ct_tuple);

// ---- helpers ----

// The drop counted as Cilium counts it (reason is the code negated, as a u8: the code itself),
// with the line and file from 1.16 on.
static __always_inline int drop(struct __sk_buff *skb, __u8 reason, __u8 dir, __u16 line, __u8 file) {
    struct metrics_key key = {.reason = reason, .dir = dir};
#if CILIUM_LAYOUT >= 116
    key.line = line;
    key.file = file;
#endif
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

#define DROP(skb, reason, dir, file) drop(skb, reason, dir, __LINE__, file)

// What the programs need of a packet: family, addresses, protocol, ports (ICMP: type in dport).
struct packet {
    __u8 family;  // 4 or 6; 0: neither (ARP, neighbour discovery: always passed)
    __u8 proto;
    __u16 sport;  // network order
    __u16 dport;  // network order
    __u8 saddr[16];
    __u8 daddr[16];
    __u32 l4;     // offset of the transport header
};

static __always_inline int parse(struct __sk_buff *skb, struct packet *p) {
    __builtin_memset(p, 0, sizeof(*p));
    if (skb->protocol == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip))) return -1;
        p->family = 4;
        p->proto = ip.protocol;
        __builtin_memcpy(p->saddr, &ip.saddr, 4);
        __builtin_memcpy(p->daddr, &ip.daddr, 4);
        p->l4 = ETH_HLEN + (ip.ihl & 0xF) * 4;
    } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr ip;
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip))) return -1;
        p->family = 6;
        p->proto = ip.nexthdr;
        __builtin_memcpy(p->saddr, &ip.saddr, 16);
        __builtin_memcpy(p->daddr, &ip.daddr, 16);
        p->l4 = ETH_HLEN + sizeof(ip);
    } else {
        return 0;
    }
    if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
        __u16 ports[2];
        if (bpf_skb_load_bytes(skb, p->l4, ports, sizeof(ports))) return -1;
        p->sport = ports[0];
        p->dport = ports[1];
    } else if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
        __u8 type = 0;
        if (bpf_skb_load_bytes(skb, p->l4, &type, 1)) return -1;
        // Neighbour discovery and router messages pass as Cilium's own responders answer them.
        if (p->proto == IPPROTO_ICMPV6 && type >= 133 && type <= 137) p->family = 0;
        p->dport = bpf_htons(type);
    }
    return 0;
}

static __always_inline struct endpoint_info *endpoint(__u8 family, const __u8 *address) {
    struct endpoint_key key = {};
    if (family == 4) {
        __builtin_memcpy(&key.ip4, address, 4);
        key.family = ENDPOINT_KEY_IPV4;
    } else {
        __builtin_memcpy(key.ip6, address, 16);
        key.family = ENDPOINT_KEY_IPV6;
    }
    return bpf_map_lookup_elem(&cilium_lxc, &key);
}

static __always_inline struct remote_endpoint_info *ipcache(__u8 family, const __u8 *address) {
    struct ipcache_key key = {};
    if (family == 4) {
        key.prefixlen = 32 + 32;
        key.family = ENDPOINT_KEY_IPV4;
        __builtin_memcpy(&key.ip4, address, 4);
    } else {
        key.prefixlen = 32 + 128;
        key.family = ENDPOINT_KEY_IPV6;
        __builtin_memcpy(key.ip6, address, 16);
    }
    return bpf_map_lookup_elem(&IPCACHE_MAP, &key);
}

static __always_inline int in_pod_ranges(struct lab_config *config, struct packet *p, int family) {
    if (family == 4) {
        __u32 address;
        __builtin_memcpy(&address, p->daddr, 4);
        return config->pod_range4_mask && (address & config->pod_range4_mask) == config->pod_range4;
    }
    __u64 prefix;
    __builtin_memcpy(&prefix, p->daddr, 8);
    return config->pod_range6_mask && (prefix & config->pod_range6_mask) == config->pod_range6;
}

// ---- the load balancer (IPv4 and IPv6 alike: the address is 4 or 16 bytes of the packet) ----

static __always_inline int csum_offset(struct packet *p) {
    return p->proto == IPPROTO_TCP ? p->l4 + 16 : p->l4 + 6;
}

// Rewrites one address (destination when `destination`, else source) and one port, the
// checksums with them: IPv4's header and the transport's pseudo-header; IPv6 has only the latter.
static __always_inline int rewrite(struct __sk_buff *skb, struct packet *p, int family, int destination, const __u8 *address, __u16 port) {
    __u32 flags = BPF_F_PSEUDO_HDR | (p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);
    __u8 *old = destination ? p->daddr : p->saddr;
    __u16 old_port = destination ? p->dport : p->sport;
    int port_offset = p->l4 + (destination ? 2 : 0);
    if (family == 4) {
        __u32 from, to;
        __builtin_memcpy(&from, old, 4);
        __builtin_memcpy(&to, address, 4);
        int offset = ETH_HLEN + (destination ? 16 : 12);
        if (bpf_l4_csum_replace(skb, csum_offset(p), from, to, flags | 4)) return -1;
        if (bpf_l3_csum_replace(skb, ETH_HLEN + 10, from, to, 4)) return -1;
        if (bpf_skb_store_bytes(skb, offset, &to, 4, 0)) return -1;
    } else {
        __u8 from[16], to[16];
        __builtin_memcpy(from, old, 16);
        __builtin_memcpy(to, address, 16);
        __s64 diff = bpf_csum_diff((__be32 *)from, 16, (__be32 *)to, 16, 0);
        if (diff < 0) return -1;
        if (bpf_l4_csum_replace(skb, csum_offset(p), 0, diff, flags)) return -1;
        if (bpf_skb_store_bytes(skb, ETH_HLEN + (destination ? 24 : 8), to, 16, 0)) return -1;
    }
    if (bpf_l4_csum_replace(skb, csum_offset(p), old_port, port, 2 | (p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0))) return -1;
    if (bpf_skb_store_bytes(skb, port_offset, &port, 2, 0)) return -1;
    return 0;
}

// A frontend's service entry for slot `slot` (0: the frontend itself).
// From 1.17 the key has the protocol (0: any): looked up with the packet's, then with any.
static __always_inline struct lb_service *service_with(struct packet *p, int family, __u16 slot, __u8 proto) {
    if (family == 4) {
        struct lb4_key key = {.dport = p->dport, .backend_slot = slot, .proto = proto};
        __builtin_memcpy(&key.address, p->daddr, 4);
        return bpf_map_lookup_elem(&cilium_lb4_services_v2, &key);
    }
    struct lb6_key key = {.dport = p->dport, .backend_slot = slot, .proto = proto};
    __builtin_memcpy(key.address, p->daddr, 16);
    return bpf_map_lookup_elem(&cilium_lb6_services_v2, &key);
}

static __always_inline struct lb_service *service(struct packet *p, int family, __u16 slot) {
#if CILIUM_LAYOUT >= 117
    struct lb_service *found = service_with(p, family, slot, p->proto);
    if (found) return found;
#endif
    return service_with(p, family, slot, 0);
}

static __always_inline void *ct_map(struct packet *p, int family) {
    if (family == 4) return p->proto == IPPROTO_TCP ? (void *)&cilium_ct4_global : (void *)&cilium_ct_any4_global;
    return p->proto == IPPROTO_TCP ? (void *)&cilium_ct6_global : (void *)&cilium_ct_any6_global;
}

// A conntrack key as Cilium stores it: the addresses as given, the ports as given (Cilium keeps
// the reply's addresses and the original's ports: the caller orders them).
static __always_inline int ct_key(struct packet *p, int family, const __u8 *daddr, const __u8 *saddr, __u16 dport, __u16 sport, __u8 flags,
                                  struct ipv6_ct_tuple *key) {
    __builtin_memset(key, 0, sizeof(*key));
    if (family == 4) {
        struct ipv4_ct_tuple *v4 = (struct ipv4_ct_tuple *)key;
        __builtin_memcpy(&v4->daddr, daddr, 4);
        __builtin_memcpy(&v4->saddr, saddr, 4);
        v4->dport = dport;
        v4->sport = sport;
        v4->nexthdr = p->proto;
        v4->flags = flags;
        return 0;
    }
    __builtin_memcpy(key->daddr, daddr, 16);
    __builtin_memcpy(key->saddr, saddr, 16);
    key->dport = dport;
    key->sport = sport;
    key->nexthdr = p->proto;
    key->flags = flags;
    return 0;
}

// Without a branch per byte: the verifier walks it once.
static __always_inline int same_address(const __u8 *x, const __u8 *y) {
    __u64 a[2], b[2];
    __builtin_memcpy(a, x, 16);
    __builtin_memcpy(b, y, 16);
    return ((a[0] ^ b[0]) | (a[1] ^ b[1])) == 0;
}

// The backend in `slot` of the frontend: its address (16 bytes) and port; <0: none.
static __always_inline int backend_in(struct packet *p, int family, __u16 slot, __u8 *address, __u16 *port, __u32 *id) {
    struct lb_service *chosen = service(p, family, slot);
    if (!chosen) return -1;
    __u32 backend_id = chosen->backend_id;
    *id = backend_id;
    __builtin_memset(address, 0, 16);
    if (family == 4) {
        struct lb4_backend *backend = bpf_map_lookup_elem(&cilium_lb4_backends_v3, &backend_id);
        if (!backend) return -1;
        __builtin_memcpy(address, &backend->address, 4);
        *port = backend->port;
    } else {
        struct lb6_backend *backend = bpf_map_lookup_elem(&cilium_lb6_backends_v3, &backend_id);
        if (!backend) return -1;
        __builtin_memcpy(address, backend->address, 16);
        *port = backend->port;
    }
    return 0;
}

// 1: the packet was to a frontend and now goes to a backend; 0: not a frontend; <0: drop.
// The stand-in never sends a pod to itself (Cilium does, through its loopback address).
static __always_inline int load_balance(struct __sk_buff *skb, struct packet *p, int family) {
    if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) return 0;
    struct lb_service *frontend = service(p, family, 0);
    if (!frontend) return 0;
    if (frontend->count == 0) return -DROP_NO_SERVICE;
    __u16 count = frontend->count, rev_nat = frontend->rev_nat_index;
    __u8 address[16];
    __u16 port = 0;
    __u32 backend_id = 0;
    // Slots are 1..count; the source port picks one, so one connection keeps its backend.
    __u16 slot = (bpf_ntohs(p->sport) % count) + 1;
    if (backend_in(p, family, slot, address, &port, &backend_id)) return -DROP_NO_SERVICE;
    if (count > 1 && same_address(address, p->saddr)) {
        if (backend_in(p, family, (slot % count) + 1, address, &port, &backend_id)) return -DROP_NO_SERVICE;
    }
    // The service entry (lb4_local's): the frontend as daddr, the ports as the packet has them
    // swapped; then the backend's egress entry, with the frontend's reverse-NAT index.
    struct ipv6_ct_tuple key;
    struct ct_entry entry = {.backend_id = backend_id, .rev_nat_index = rev_nat, .lifetime = 60};
    ct_key(p, family, p->daddr, p->saddr, p->sport, p->dport, TUPLE_F_SERVICE, &key);
    bpf_map_update_elem(ct_map(p, family), &key, &entry, BPF_ANY);
    entry.backend_id = 0;
    ct_key(p, family, p->saddr, address, port, p->sport, TUPLE_F_OUT, &key);
    bpf_map_update_elem(ct_map(p, family), &key, &entry, BPF_ANY);
    if (rewrite(skb, p, family, 1, address, port)) return -DROP_NO_SERVICE;
    __builtin_memcpy(p->daddr, address, 16);
    p->dport = port;
    return 1;
}

// A backend's reply on its way to the client: its source translated back to the frontend the
// connection's conntrack entry names.
static __always_inline void reverse_nat(struct __sk_buff *skb, struct packet *p, int family) {
    if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) return;
    struct ipv6_ct_tuple key;
    ct_key(p, family, p->daddr, p->saddr, p->sport, p->dport, TUPLE_F_OUT, &key);
    struct ct_entry *entry = bpf_map_lookup_elem(ct_map(p, family), &key);
    if (!entry || !entry->rev_nat_index) return;
    __u16 index = entry->rev_nat_index;
    __u8 address[16] = {};
    __u16 port;
    if (family == 4) {
        struct lb4_reverse_nat *frontend = bpf_map_lookup_elem(&cilium_lb4_reverse_nat, &index);
        if (!frontend) return;
        __builtin_memcpy(address, &frontend->address, 4);
        port = frontend->port;
    } else {
        struct lb6_reverse_nat *frontend = bpf_map_lookup_elem(&cilium_lb6_reverse_nat, &index);
        if (!frontend) return;
        __builtin_memcpy(address, frontend->address, 16);
        port = frontend->port;
    }
    if (rewrite(skb, p, family, 0, address, port) == 0) {
        __builtin_memcpy(p->saddr, address, 16);
        p->sport = port;
    }
}

// ---- the programs ----

// Each family's path apart (the family a constant in each): the verifier walks each once.
static __always_inline int from_container(struct __sk_buff *skb, struct packet *p, int family) {
    int balanced = load_balance(skb, p, family);
    if (balanced < 0) return DROP(skb, -balanced, METRIC_EGRESS, FILE_BPF_LXC);
    // A local pod: the stack routes it to the pod's lxc, where cil_to_container judges it.
    if (endpoint(family, p->daddr)) return TC_ACT_OK;
    __u32 zero = 0;
    struct lab_config *config = bpf_map_lookup_elem(&lab_cilium_config, &zero);
    if (!config) return TC_ACT_OK;
    struct remote_endpoint_info *remote = ipcache(family, p->daddr);
    __u32 tunnel = remote ? TUNNEL_ENDPOINT(remote) : 0;
    if (!tunnel) {
        if (in_pod_ranges(config, p, family)) return DROP(skb, DROP_NO_TUNNEL_ENDPOINT, METRIC_EGRESS, FILE_BPF_LXC);
        return TC_ACT_OK;
    }
    // The tunnel carries the source's identity as its VNI, as Cilium's does.
    struct endpoint_info *source = endpoint(family, p->saddr);
    struct bpf_tunnel_key key = {};
    key.remote_ipv4 = bpf_ntohl(tunnel);
    key.tunnel_id = source ? source->sec_id : WORLD_ID;
    key.tunnel_ttl = 64;
    if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key), BPF_F_ZERO_CSUM_TX)) return TC_ACT_SHOT;
    return bpf_redirect(config->vxlan_ifindex, 0);
}

SEC("tc")
int cil_from_container(struct __sk_buff *skb) {
    struct packet p;
    if (parse(skb, &p) || !p.family) return TC_ACT_OK;
    return p.family == 4 ? from_container(skb, &p, 4) : from_container(skb, &p, 6);
}

SEC("tc")
int cil_from_overlay(struct __sk_buff *skb) {
    struct bpf_tunnel_key key = {};
    if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0)) return TC_ACT_OK;
    skb->mark = (key.tunnel_id << 16) | MARK_MAGIC_IDENTITY;
    // The inner frame's MAC is not this device's: the stack takes it as addressed here.
    bpf_skb_change_type(skb, 0 /* PACKET_HOST */);
    return TC_ACT_OK;
}

static __always_inline int to_container(struct __sk_buff *skb, struct packet *p, int family) {
    reverse_nat(skb, p, family);
    struct endpoint_info *local = endpoint(family, p->daddr);
    if (!local) return TC_ACT_OK;
    __u32 identity = WORLD_ID;
    if ((skb->mark & MARK_MAGIC_MASK) == MARK_MAGIC_IDENTITY) {
        identity = skb->mark >> 16;
    } else {
        struct remote_endpoint_info *remote = ipcache(family, p->saddr);
        if (remote) identity = remote->sec_identity;
    }
    skb->cb[0] = identity;
    skb->cb[1] = local->lxc_id;
    skb->cb[2] = p->proto;
    skb->cb[3] = p->dport;
    bpf_tail_call(skb, &cilium_call_policy, local->lxc_id);
    return DROP(skb, DROP_MISSED_TAIL_CALL, METRIC_INGRESS, FILE_BPF_LXC);
}

SEC("tc")
int cil_to_container(struct __sk_buff *skb) {
    struct packet p;
    if (parse(skb, &p) || !p.family) return TC_ACT_OK;
    return p.family == 4 ? to_container(skb, &p, 4) : to_container(skb, &p, 6);
}

#if CILIUM_LAYOUT >= 118
#define POLICY_PROGRAM cil_lxc_policy
#else
#define POLICY_PROGRAM handle_policy
#endif

// The endpoint's ingress policy for (identity, protocol, port), then for any identity.
SEC("tc")
int POLICY_PROGRAM(struct __sk_buff *skb) {
    __u32 identity = skb->cb[0], endpoint_id = skb->cb[1];
    void *policy = bpf_map_lookup_elem(&lab_endpoint_policy, &endpoint_id);
    if (!policy) return DROP(skb, DROP_POLICY, METRIC_INGRESS, FILE_BPF_LXC);
    struct policy_key key = {.lpm_key = 64, .sec_label = identity, .protocol = skb->cb[2], .dport = skb->cb[3]};
    struct policy_entry *exact = bpf_map_lookup_elem(policy, &key);
    key.sec_label = 0;
    struct policy_entry *any = bpf_map_lookup_elem(policy, &key);
    struct policy_entry *decided = exact;
    if (!decided || (any && (any->flags & 1))) decided = any;
    if (!decided) return DROP(skb, DROP_POLICY, METRIC_INGRESS, FILE_BPF_LXC);
#if CILIUM_LAYOUT < 118
    __sync_fetch_and_add(&decided->packets, 1);
    __sync_fetch_and_add(&decided->bytes, skb->len);
#else
    struct policy_stats_key stats = {.endpoint_id = endpoint_id, .sec_label = decided == exact ? identity : 0,
                                      .protocol = skb->cb[2], .dport = skb->cb[3]};
    struct metrics_value *counted = bpf_map_lookup_elem(&cilium_policystats, &stats);
    if (counted) {
        counted->count += 1;
        counted->bytes += skb->len;
    } else {
        struct metrics_value first = {.count = 1, .bytes = skb->len};
        bpf_map_update_elem(&cilium_policystats, &stats, &first, BPF_NOEXIST);
    }
#endif
    if (decided->flags & 1) return DROP(skb, DROP_POLICY_DENY, METRIC_INGRESS, FILE_BPF_LXC);
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
