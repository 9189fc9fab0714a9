// Kernel interfaces that Swift's Glibc module does not export: setns and CLONE_NEWNET
// (hidden behind _GNU_SOURCE), the CMSG_* macros (function-like, so not imported), and the
// netlink/error-queue UAPI headers. No logic lives here: each function only forwards.
#ifndef CNETSHIMS_H
#define CNETSHIMS_H

#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/errqueue.h>
#include <linux/net_namespace.h>
#include <malloc.h>  /* mallopt: not in Swift's Glibc module */
#include <sys/vfs.h> /* fstatfs: is a namespace path on nsfs */
#include <linux/if_packet.h> /* sockaddr_ll: the ARP probe */
#include <linux/if_ether.h>  /* ETH_P_ARP */

/// CLONE_NEWNET as a plain constant, for setns(2).
extern const int cns_clone_newnet;

/// setns(2) with _GNU_SOURCE defined.
int cns_setns(int fd, int nstype);

struct cmsghdr *cns_cmsg_firsthdr(struct msghdr *msg);
struct cmsghdr *cns_cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cmsg);
unsigned char *cns_cmsg_data(struct cmsghdr *cmsg);
size_t cns_cmsg_space(size_t length);
size_t cns_cmsg_len(size_t length);

#endif
