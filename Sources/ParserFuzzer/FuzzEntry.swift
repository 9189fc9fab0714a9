// libFuzzer entry over the parsers netdoctor runs on untrusted bytes: node files, the kernel's
// netlink messages, the container runtime's CRI answers, agents' messages, BPF maps, Hubble.
// scripts/fuzz builds it with -sanitize=fuzzer -DFUZZING, where libFuzzer's driver calls
// fuzzOneInput; NETDOCTOR_FUZZ_TARGET picks the family (FuzzTargets). A plain build replays the
// files named on the command line through the same entry point, to reproduce a crash.
#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    for target in FuzzTargets.selected { target.run(bytes, text) }
    return 0
}

#if FUZZING
    // SwiftPM links an executable's entry point as `<module>_main`; with libFuzzer, that entry hands
    // control to libFuzzer's driver, which parses its flags and calls fuzzOneInput. `--list` (and an
    // unknown NETDOCTOR_FUZZ_TARGET) are answered before it starts.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    @_cdecl("ParserFuzzer_main")
    public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        if argc > 1, let first = argv?[1], String(cString: first) == "--list" {
            fputs(FuzzTargets.listing, stdout)
            return 0
        }
        _ = FuzzTargets.selected
        var count = argc
        var arguments = argv
        return LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput)
    }
#endif
