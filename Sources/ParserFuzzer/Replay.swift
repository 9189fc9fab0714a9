#if !FUZZING
    import Glibc
    import NodeFiles

    /// Without libFuzzer: replays the files named on the command line through the fuzz entry point,
    /// to reproduce a crash that scripts/fuzz saved in fuzz-artifacts/.
    @main
    struct Replay {
        static func main() {
            for argument in CommandLine.arguments.dropFirst() {
                let path = argument.hasPrefix("/") ? argument : String(cString: getcwd(nil, 0)) + "/" + argument
                guard let bytes = try? NodeRoot("/").read(path, limit: 16 << 20) else {
                    print("cannot read \(path)")
                    continue
                }
                _ = bytes.withUnsafeBufferPointer { fuzzOneInput($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
                print("ok \(path)")
            }
        }
    }
#endif
