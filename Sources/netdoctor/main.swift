import CNetShims
import NetdoctorCLI

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

// A closed pipe (`netdoctor … | head`) ends output quietly instead of killing the process.
signal(SIGPIPE, SIG_IGN)
// Keep freed memory for reuse instead of returning it to the kernel and faulting it back in:
// dumps of big namespaces allocate and free tens of megabytes in a short run.
mallopt(M_MMAP_THRESHOLD, 256 << 20)
mallopt(M_TRIM_THRESHOLD, 256 << 20)
mallopt(M_TOP_PAD, 64 << 20)
Netdoctor.runAndExit()
