import NetAddress

/// One packet of the probe the kernel dropped, as the drop-reason program reported it.
public struct KernelDrop: Sendable, Equatable {
    /// enum skb_drop_reason's value, and its name from the running kernel's BTF.
    public var reason: UInt32
    public var reasonName: String
    /// The kernel address that freed it, and the function there (from /proc/kallsyms).
    public var location: UInt64
    public var function: String?
    /// The device the packet was on (skb->dev, else where it arrived), and its namespace's inode.
    public var interfaceIndex: Int32
    public var namespaceInode: UInt32
    public var source: IPAddress
    public var destination: IPAddress
    /// IPPROTO_*; ports for TCP and UDP.
    public var protocolNumber: UInt8
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    /// Nanoseconds since boot (CLOCK_MONOTONIC), to order them.
    public var time: UInt64

    public init(
        reason: UInt32, reasonName: String, location: UInt64, function: String? = nil, interfaceIndex: Int32, namespaceInode: UInt32,
        source: IPAddress, destination: IPAddress, protocolNumber: UInt8, sourcePort: UInt16? = nil, destinationPort: UInt16? = nil,
        time: UInt64 = 0
    ) {
        self.reason = reason
        self.reasonName = reasonName
        self.location = location
        self.function = function
        self.interfaceIndex = interfaceIndex
        self.namespaceInode = namespaceInode
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.time = time
    }

    /// "10.244.1.2 -> 10.244.1.3 ICMP" and the ports where there are.
    public var packet: String {
        let name = [1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"][Int(protocolNumber)] ?? "protocol \(protocolNumber)"
        let from = sourcePort.map { "\(source.bracketedForPort):\($0)" } ?? source.description
        let to = destinationPort.map { "\(destination.bracketedForPort):\($0)" } ?? destination.description
        return "\(from) -> \(to) \(name)"
    }
}

extension IPAddress {
    fileprivate var bracketedForPort: String { isIPv4 ? description : "[\(description)]" }
}

/// The records the program writes (struct drop_event in bpf/drop_reasons.bpf.c), read from the
/// ring buffer's bytes: 72 bytes each, host order but for the ports (network order, as the
/// packet carries them). A record that is short or says a family other than 4 or 6 is refused.
public enum DropEventRecord {
    public static let size = 72

    public static func parse(_ bytes: ArraySlice<UInt8>, names: DropReasonNames) -> KernelDrop? {
        guard bytes.count >= size else { return nil }
        let base = bytes.startIndex
        func u8(_ offset: Int) -> UInt8 { bytes[base + offset] }
        func u16Network(_ offset: Int) -> UInt16 { UInt16(u8(offset)) << 8 | UInt16(u8(offset + 1)) }
        func u32(_ offset: Int) -> UInt32 { HostOrder.u32(bytes, at: offset) ?? 0 }
        func u64(_ offset: Int) -> UInt64 { HostOrder.u64(bytes, at: offset) ?? 0 }
        let family = u8(28)
        guard family == 4 || family == 6 else { return nil }
        let length = family == 4 ? 4 : 16
        guard let source = IPAddress(wire: bytes[(base + 32)..<(base + 32 + length)]),
            let destination = IPAddress(wire: bytes[(base + 48)..<(base + 48 + length)])
        else { return nil }
        let protocolNumber = u8(29)
        let hasPorts = protocolNumber == 6 || protocolNumber == 17
        let reason = u32(16)
        return KernelDrop(
            reason: reason, reasonName: names.name(reason), location: u64(0), interfaceIndex: Int32(bitPattern: u32(20)),
            namespaceInode: u32(24), source: source, destination: destination, protocolNumber: protocolNumber,
            sourcePort: hasPorts ? u16Network(30) : nil, destinationPort: hasPorts ? u16Network(64) : nil, time: u64(8))
    }
}

/// The kernel's symbols (/proc/kallsyms), to name the function at a drop's location: read once,
/// for the addresses asked only (the file is megabytes, a line per symbol: scanned as bytes,
/// nothing of it kept but the names found). Without root the kernel shows every address as 0:
/// then nothing is named.
public enum KernelSymbols {
    /// "function+0x1f" for each address, where the file names a text symbol at or below it.
    public static func name(_ addresses: Set<UInt64>, kallsyms text: String) -> [UInt64: String] {
        name(addresses, kallsyms: Array(text.utf8))
    }

    public static func name(_ addresses: Set<UInt64>, kallsyms bytes: [UInt8]) -> [UInt64: String] {
        guard !addresses.isEmpty else { return [:] }
        let wanted = Array(addresses)
        var best: [UInt64: (start: UInt64, name: Range<Int>)] = [:]
        bytes.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                // "ffffffff81a00000 T ip_rcv_core\t[module]\n"
                var start: UInt64 = 0
                var digits = 0
                while i < b.count, digits < 16, let digit = hexDigit(b[i]) {
                    start = start << 4 | digit
                    digits += 1
                    i += 1
                }
                let type: UInt8 = i + 1 < b.count && b[i] == 0x20 ? b[i + 1] : 0
                i += 3
                let nameStart = min(i, b.count)
                while i < b.count, b[i] != 0x0A, b[i] != 0x20, b[i] != 0x09 { i += 1 }
                let nameEnd = min(i, b.count)
                while i < b.count, b[i] != 0x0A { i += 1 }
                i += 1
                guard digits > 0, start != 0, type == UInt8(ascii: "t") || type == UInt8(ascii: "T"), nameStart < nameEnd else { continue }
                // The nearest symbol at or below each address (a drop has a handful: a scan each).
                for address in wanted where address >= start && best[address].map({ $0.start < start }) ?? true {
                    best[address] = (start, nameStart..<nameEnd)
                }
            }
        }
        var named: [UInt64: String] = [:]
        for (address, symbol) in best {
            let name = BPFText.printable(String(decoding: bytes[symbol.name], as: UTF8.self), limit: 80)
            named[address] = "\(name)+0x\(String(address - symbol.start, radix: 16))"
        }
        return named
    }

    private static func hexDigit(_ byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt64(byte - UInt8(ascii: "a") + 10)
        default: nil
        }
    }
}
