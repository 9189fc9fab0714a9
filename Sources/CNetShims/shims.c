#define _GNU_SOURCE
#include <sched.h>
#include "CNetShims.h"

const int cns_clone_newnet = CLONE_NEWNET;

int cns_setns(int fd, int nstype) { return setns(fd, nstype); }

struct cmsghdr *cns_cmsg_firsthdr(struct msghdr *msg) { return CMSG_FIRSTHDR(msg); }
struct cmsghdr *cns_cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cmsg) { return CMSG_NXTHDR(msg, cmsg); }
unsigned char *cns_cmsg_data(struct cmsghdr *cmsg) { return CMSG_DATA(cmsg); }
size_t cns_cmsg_space(size_t length) { return CMSG_SPACE(length); }
size_t cns_cmsg_len(size_t length) { return CMSG_LEN(length); }
