import NetdoctorCLI

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

// A closed pipe (`netdoctor … | head`) ends output quietly instead of killing the process.
signal(SIGPIPE, SIG_IGN)
Netdoctor.runAndExit()
