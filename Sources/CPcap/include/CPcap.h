// libpcap's declarations. The functions are defined in lazy_pcap.c, which opens libpcap the
// first time a capture starts: every other command (and `--version`) starts without loading
// libpcap and the nine libraries it pulls in (dbus, systemd, gcrypt, ...), about 0.6 ms.
#include <pcap/pcap.h>
