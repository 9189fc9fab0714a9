// The lab's BPF object (scripts/gen-bpf from bpf/lab_drop.bpf.c), linked into netdoctor-lab only.
#include <stddef.h>
const unsigned char *netdoctor_lab_drop_object(void);
size_t netdoctor_lab_drop_object_size(void);
