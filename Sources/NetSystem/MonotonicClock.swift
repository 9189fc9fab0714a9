#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Time that only moves forward, for deadlines and durations (the wall clock may jump).
public enum MonotonicClock {
    public static var nanoseconds: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static var milliseconds: Int64 { Int64(nanoseconds / 1_000_000) }
}
