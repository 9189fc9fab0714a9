// libbpf's declarations (Debian's libbpf-dev). The functions are defined in lazy_bpf.c, which
// opens libbpf the first time a BPF feature is used: every other command starts without loading
// libbpf, libelf and libz, and a node without libbpf loses only those features, each said.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stddef.h>

// Opens libbpf once; NULL when it is there and complete, else why not (a sentence).
const char *netdoctor_bpf_load_error(void);

// libbpf's own messages go to a buffer, not to stderr (stdout and stderr are the report's): the
// last warning or error is kept for the error netdoctor reports.
const char *netdoctor_bpf_last_message(void);

// The BPF object netdoctor carries, compiled by scripts/gen-bpf from bpf/drop_reasons.bpf.c.
const unsigned char *netdoctor_drop_reasons_object(void);
size_t netdoctor_drop_reasons_object_size(void);
