// libbpf, opened on first use. Each libbpf function netdoctor calls is defined here with
// libbpf's own signature and forwards to the library's symbol, resolved once (as CPcap does for
// libpcap). Callers ask netdoctor_bpf_load_error() first; a function called without the library
// fails as libbpf reports failures (-ENOSYS, or NULL with errno set).
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "CLibBPF.h"

// Debian's SONAME (libbpf1), then upstream's unversioned name.
static const char *const library_names[] = {"libbpf.so.1", "libbpf.so"};

// (return type, name, parameters, arguments, the value returned without the library)
#define FUNCTIONS(X)                                                                               \
    X(int, bpf_prog_get_next_id, (__u32 start, __u32 * next), (start, next), -ENOSYS)              \
    X(int, bpf_map_get_next_id, (__u32 start, __u32 * next), (start, next), -ENOSYS)               \
    X(int, bpf_link_get_next_id, (__u32 start, __u32 * next), (start, next), -ENOSYS)              \
    X(int, bpf_link_get_fd_by_id, (__u32 id), (id), -ENOSYS)                                       \
    X(int, bpf_prog_get_fd_by_id, (__u32 id), (id), -ENOSYS)                                       \
    X(int, bpf_map_get_fd_by_id, (__u32 id), (id), -ENOSYS)                                        \
    X(int, bpf_obj_get_info_by_fd, (int fd, void *info, __u32 *length), (fd, info, length),        \
      -ENOSYS)                                                                                     \
    X(int, bpf_obj_get, (const char *path), (path), -ENOSYS)                                       \
    X(int, bpf_prog_query_opts,                                                                    \
      (int target, enum bpf_attach_type type, struct bpf_prog_query_opts *opts),                   \
      (target, type, opts), -ENOSYS)                                                               \
    X(int, bpf_map_lookup_elem, (int fd, const void *key, void *value), (fd, key, value), -ENOSYS) \
    X(int, bpf_map_update_elem, (int fd, const void *key, const void *value, __u64 flags),         \
      (fd, key, value, flags), -ENOSYS)                                                            \
    X(int, bpf_map_get_next_key, (int fd, const void *key, void *next), (fd, key, next), -ENOSYS)  \
    X(int, bpf_map_delete_elem, (int fd, const void *key), (fd, key), -ENOSYS)                     \
    X(int, bpf_map_lookup_batch,                                                                   \
      (int fd, void *in_batch, void *out_batch, void *keys, void *values, __u32 *count,            \
       const struct bpf_map_batch_opts *opts),                                                     \
      (fd, in_batch, out_batch, keys, values, count, opts), -ENOSYS)                               \
    X(int, bpf_map_create,                                                                         \
      (enum bpf_map_type type, const char *name, __u32 key_size, __u32 value_size,                 \
       __u32 max_entries, const struct bpf_map_create_opts *opts),                                 \
      (type, name, key_size, value_size, max_entries, opts), -ENOSYS)                              \
    X(int, libbpf_num_possible_cpus, (void), (), -ENOSYS)                                          \
    X(struct bpf_object *, bpf_object__open_mem,                                                   \
      (const void *buffer, size_t size, const struct bpf_object_open_opts *opts),                  \
      (buffer, size, opts), NULL)                                                                  \
    X(int, bpf_object__load, (struct bpf_object * object), (object), -ENOSYS)                      \
    X(struct bpf_program *, bpf_object__find_program_by_name,                                      \
      (const struct bpf_object *object, const char *name), (object, name), NULL)                   \
    X(struct bpf_map *, bpf_object__find_map_by_name,                                              \
      (const struct bpf_object *object, const char *name), (object, name), NULL)                   \
    X(int, bpf_map__fd, (const struct bpf_map *map), (map), -ENOSYS)                               \
    X(int, bpf_program__fd, (const struct bpf_program *program), (program), -ENOSYS)               \
    X(struct bpf_link *, bpf_program__attach_raw_tracepoint,                                       \
      (const struct bpf_program *program, const char *name), (program, name), NULL)                \
    X(int, bpf_link__destroy, (struct bpf_link * link), (link), -ENOSYS)                           \
    X(struct ring_buffer *, ring_buffer__new,                                                      \
      (int fd, ring_buffer_sample_fn sample, void *context, const struct ring_buffer_opts *opts),  \
      (fd, sample, context, opts), NULL)                                                           \
    X(int, ring_buffer__poll, (struct ring_buffer * ring, int timeout), (ring, timeout), -ENOSYS)  \
    X(int, ring_buffer__consume, (struct ring_buffer * ring), (ring), -ENOSYS)                     \
    X(struct btf *, btf__load_vmlinux_btf, (void), (), NULL)                                       \
    X(struct btf *, btf__new, (const void *data, __u32 size), (data, size), NULL)                  \
    X(struct btf *, btf__load_from_kernel_by_id, (__u32 id), (id), NULL)                           \
    X(__s32, btf__find_by_name_kind, (const struct btf *btf, const char *name, __u32 kind),        \
      (btf, name, kind), -ENOSYS)                                                                  \
    X(const struct btf_type *, btf__type_by_id, (const struct btf *btf, __u32 id), (btf, id),      \
      NULL)                                                                                        \
    X(const char *, btf__name_by_offset, (const struct btf *btf, __u32 offset), (btf, offset),     \
      NULL)                                                                                        \
    X(__u32, btf__type_cnt, (const struct btf *btf), (btf), 0)                                     \
    X(int, bpf_tc_hook_create, (struct bpf_tc_hook * hook), (hook), -ENOSYS)                       \
    X(int, bpf_tc_attach, (const struct bpf_tc_hook *hook, struct bpf_tc_opts *opts),              \
      (hook, opts), -ENOSYS)                                                                       \
    X(int, bpf_obj_pin, (int fd, const char *path), (fd, path), -ENOSYS)                           \
    X(int, bpf_link_create,                                                                        \
      (int prog, int target, enum bpf_attach_type type, const struct bpf_link_create_opts *opts),  \
      (prog, target, type, opts), -ENOSYS)
#define FUNCTIONS_RETURNING_NOTHING(X)                                                             \
    X(void, bpf_object__close, (struct bpf_object * object), (object))                             \
    X(void, ring_buffer__free, (struct ring_buffer * ring), (ring))                                \
    X(void, btf__free, (struct btf * btf), (btf))

#define POINTER(ret, name, params, args, ...) static ret(*resolved_##name) params;
FUNCTIONS(POINTER)
FUNCTIONS_RETURNING_NOTHING(POINTER)
static libbpf_print_fn_t (*resolved_libbpf_set_print)(libbpf_print_fn_t);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];
static char last_message[512];

// libbpf's messages: warnings and errors kept (the last one), debug chatter dropped.
static int keep_message(enum libbpf_print_level level, const char *format, va_list arguments) {
    if (level == LIBBPF_DEBUG) return 0;
    vsnprintf(last_message, sizeof last_message, format, arguments);
    size_t length = strlen(last_message);
    while (length > 0 && last_message[length - 1] == '\n') last_message[--length] = '\0';
    return 0;
}

#define RESOLVE(ret, name, params, args, ...)                                                      \
    if ((resolved_##name = (ret(*) params)dlsym(library, #name)) == NULL) {                        \
        snprintf(load_error, sizeof load_error, "the libbpf loaded has no %s (libbpf 1.0 or later " \
                 "is needed)", #name);                                                             \
        return;                                                                                    \
    }

static void load_library(void) {
    void *library = NULL;
    for (size_t i = 0; i < sizeof library_names / sizeof *library_names && library == NULL; i++)
        library = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(load_error, sizeof load_error,
                 "libbpf could not be loaded (libbpf.so.1, libbpf.so): install libbpf (Debian: "
                 "libbpf1)");
        return;
    }
    FUNCTIONS(RESOLVE)
    FUNCTIONS_RETURNING_NOTHING(RESOLVE)
    resolved_libbpf_set_print = (libbpf_print_fn_t(*)(libbpf_print_fn_t))dlsym(library, "libbpf_set_print");
    if (resolved_libbpf_set_print == NULL) {
        snprintf(load_error, sizeof load_error, "the libbpf loaded has no libbpf_set_print");
        return;
    }
    resolved_libbpf_set_print(keep_message);
    load_error[0] = '\0';
}

const char *netdoctor_bpf_load_error(void) {
    pthread_once(&load_once, load_library);
    return load_error[0] == '\0' ? NULL : load_error;
}

const char *netdoctor_bpf_last_message(void) { return last_message; }

#define FORWARD(ret, name, params, args, missing)                                                  \
    ret name params {                                                                              \
        if (netdoctor_bpf_load_error() != NULL) {                                                  \
            errno = ENOSYS;                                                                        \
            return missing;                                                                        \
        }                                                                                          \
        return resolved_##name args;                                                               \
    }
#define FORWARD_NOTHING(ret, name, params, args)                                                   \
    ret name params {                                                                              \
        if (netdoctor_bpf_load_error() == NULL) resolved_##name args;                              \
    }
FUNCTIONS(FORWARD)
FUNCTIONS_RETURNING_NOTHING(FORWARD_NOTHING)
