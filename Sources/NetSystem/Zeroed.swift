/// A C struct in zeroed memory of its own, for the call in `body`: libbpf refuses an options
/// struct whose bytes past its last field are not zero (EINVAL), and a Swift value of a C struct
/// keeps no promise about its padding (an optimised build of the lab left garbage there in
/// bpf_tc_hook). Fields set through the pointer leave the padding as it is: zero.
public func withZeroed<T, R>(_ type: T.Type, _ body: (UnsafeMutablePointer<T>) -> R) -> R {
    let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
    defer { pointer.deallocate() }
    UnsafeMutableRawPointer(pointer).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.stride)
    return body(pointer)
}
