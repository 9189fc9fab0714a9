// libpcap, opened on first use. Each pcap_* function netdoctor calls is defined here with
// libpcap's own signature and forwards to the library's symbol, resolved once. Only pcap_create
// can be reached without a handle, so it alone reports a library that cannot be opened (in its
// error buffer, as libpcap reports its own failures); every other function is called on a
// handle pcap_create returned, so the library is loaded by then.
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include "CPcap.h"

// The names libpcap's shared object has across distributions: Debian's SONAME, then upstream's.
static const char *const library_names[] = {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so"};

// (return type, name, parameters, arguments) of the functions that take a handle or a program.
#define RETURNING(X)                                                                               \
    X(int, pcap_set_snaplen, (pcap_t * p, int v), (p, v))                                          \
    X(int, pcap_set_promisc, (pcap_t * p, int v), (p, v))                                          \
    X(int, pcap_set_immediate_mode, (pcap_t * p, int v), (p, v))                                   \
    X(int, pcap_set_timeout, (pcap_t * p, int v), (p, v))                                          \
    X(int, pcap_set_buffer_size, (pcap_t * p, int v), (p, v))                                      \
    X(int, pcap_set_tstamp_precision, (pcap_t * p, int v), (p, v))                                 \
    X(int, pcap_activate, (pcap_t * p), (p))                                                       \
    X(char *, pcap_geterr, (pcap_t * p), (p))                                                      \
    X(int, pcap_compile, (pcap_t * p, struct bpf_program *f, const char *s, int o, bpf_u_int32 m), \
      (p, f, s, o, m))                                                                             \
    X(int, pcap_setfilter, (pcap_t * p, struct bpf_program *f), (p, f))                            \
    X(int, pcap_setnonblock, (pcap_t * p, int v, char *e), (p, v, e))                              \
    X(int, pcap_datalink, (pcap_t * p), (p))                                                       \
    X(int, pcap_snapshot, (pcap_t * p), (p))                                                       \
    X(int, pcap_get_selectable_fd, (pcap_t * p), (p))                                              \
    X(int, pcap_next_ex, (pcap_t * p, struct pcap_pkthdr **h, const u_char **d), (p, h, d))        \
    X(int, pcap_dispatch, (pcap_t * p, int n, pcap_handler c, u_char *u), (p, n, c, u))            \
    X(int, pcap_stats, (pcap_t * p, struct pcap_stat *s), (p, s))
#define RETURNING_NOTHING(X)                                                                       \
    X(void, pcap_close, (pcap_t * p), (p))                                                         \
    X(void, pcap_freecode, (struct bpf_program * f), (f))                                          \
    X(void, pcap_breakloop, (pcap_t * p), (p))

#define POINTER(ret, name, params, args) static ret(*resolved_##name) params;
RETURNING(POINTER)
RETURNING_NOTHING(POINTER)
static pcap_t *(*resolved_pcap_create)(const char *, char *);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[PCAP_ERRBUF_SIZE];

#define RESOLVE(ret, name, params, args)                                                           \
    if ((resolved_##name = (ret(*) params)dlsym(library, #name)) == NULL) {                        \
        snprintf(load_error, sizeof load_error, "the libpcap loaded has no %s", #name);            \
        return;                                                                                    \
    }

static void load_library(void) {
    void *library = NULL;
    for (size_t i = 0; i < sizeof library_names / sizeof *library_names && library == NULL; i++)
        library = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(load_error, sizeof load_error,
                 "libpcap could not be loaded (libpcap.so.0.8, libpcap.so.1, libpcap.so): "
                 "install libpcap (Debian: libpcap0.8)");
        return;
    }
    RESOLVE(pcap_t *, pcap_create, (const char *s, char *e), (s, e))
    RETURNING(RESOLVE)
    RETURNING_NOTHING(RESOLVE)
}

pcap_t *pcap_create(const char *source, char *errbuf) {
    pthread_once(&load_once, load_library);
    if (load_error[0] != '\0') {
        if (errbuf != NULL) snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", load_error);
        return NULL;
    }
    return resolved_pcap_create(source, errbuf);
}

#define FORWARD(ret, name, params, args)                                                           \
    ret name params { return resolved_##name args; }
#define FORWARD_NOTHING(ret, name, params, args)                                                   \
    ret name params { resolved_##name args; }
RETURNING(FORWARD)
RETURNING_NOTHING(FORWARD_NOTHING)
