import BPF
import ConfigFormats
import NetAddress

extension KernelDropFact {
    /// As trace reports it and a remote agent sends it; `init?(json:)` reads it back.
    public var json: ConfigValue {
        .fields([
            ("reason", .string(drop.reasonName)), ("reasonCode", .int(Int(drop.reason))), ("place", .string(place)),
            ("onPath", .bool(onPath)), ("copy", .bool(isCopy)), ("function", .text(drop.function)),
            ("location", .string("0x" + String(drop.location, radix: 16))), ("interfaceIndex", .int(Int(drop.interfaceIndex))),
            ("namespaceInode", .int(Int(drop.namespaceInode))), ("packet", .string(drop.packet)),
            ("source", .string(drop.source.description)), ("destination", .string(drop.destination.description)),
            ("protocol", .int(Int(drop.protocolNumber))), ("sourcePort", .int(drop.sourcePort.map(Int.init))),
            ("destinationPort", .int(drop.destinationPort.map(Int.init))), ("time", .int(Int(clamping: drop.time))),
            ("programs", .array(programs.map(\.json))), ("reverseRoute", .text(reverseRoute)),
        ])
    }

    /// A drop another node's agent reported: nothing of it is trusted beyond its shape (names
    /// printable and bounded, a handful of programs).
    public init?(json: ConfigValue) {
        guard let reason = json["reason"]?.string, let place = json["place"]?.string,
            let source = json["source"]?.string.flatMap(IPAddress.parse),
            let destination = json["destination"]?.string.flatMap(IPAddress.parse),
            let number = json["protocol"]?.int.flatMap(UInt8.init(exactly:))
        else { return nil }
        let location = json["location"]?.string.flatMap { UInt64($0.dropFirst(2), radix: 16) } ?? 0
        self.init(
            drop: KernelDrop(
                reason: json["reasonCode"]?.int.flatMap(UInt32.init(exactly:)) ?? 0, reasonName: BPFText.printable(reason),
                location: location, function: json["function"]?.string.map { BPFText.printable($0, limit: 80) },
                interfaceIndex: json["interfaceIndex"]?.int.flatMap(Int32.init(exactly:)) ?? 0,
                namespaceInode: json["namespaceInode"]?.int.flatMap(UInt32.init(exactly:)) ?? 0, source: source,
                destination: destination, protocolNumber: number,
                sourcePort: json["sourcePort"]?.int.flatMap(UInt16.init(exactly:)),
                destinationPort: json["destinationPort"]?.int.flatMap(UInt16.init(exactly:)),
                time: json["time"]?.int.flatMap(UInt64.init(exactly:)) ?? 0),
            place: BPFText.printable(place, limit: 120), onPath: json["onPath"]?.bool ?? false,
            programs: (json["programs"]?.array ?? []).prefix(8).compactMap(AttachedProgram.init(json:)),
            reverseRoute: json["reverseRoute"]?.string.map { BPFText.printable($0, limit: 120) })
        isCopy = json["copy"]?.bool ?? false
    }
}
