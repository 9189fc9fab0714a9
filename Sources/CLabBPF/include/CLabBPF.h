// The lab's BPF objects (scripts/gen-bpf from bpf/lab_*.bpf.c), linked into netdoctor-lab only.
#include <stddef.h>
const unsigned char *netdoctor_lab_drop_object(void);
size_t netdoctor_lab_drop_object_size(void);
// The stand-in of Cilium's datapath, with 1.15's and 1.18's layouts (bpf/lab_cilium.h).
const unsigned char *netdoctor_lab_cilium_115_object(void);
size_t netdoctor_lab_cilium_115_object_size(void);
const unsigned char *netdoctor_lab_cilium_118_object(void);
size_t netdoctor_lab_cilium_118_object_size(void);
