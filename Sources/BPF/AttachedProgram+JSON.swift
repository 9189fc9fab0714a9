import ConfigFormats

extension AttachedProgram {
    /// A program on an interface as inspect and trace write it.
    public var json: ConfigValue {
        .fields([
            ("point", .string(point.rawValue)), ("id", .int(Int(program.id))), ("name", .string(program.name)),
            ("tag", .string(program.tag)), ("type", .string(program.type.description)), ("owner", .text(program.owner)),
            ("priority", priority.map { .int(Int($0)) } ?? .null), ("directAction", .flag(directAction)),
            ("linkID", linkID.map { .int(Int($0)) } ?? .null),
        ])
    }
}

extension AttachedProgram {
    /// A program another node's agent reported: names kept printable and bounded.
    public init?(json: ConfigValue) {
        guard let point = json["point"]?.string.flatMap(AttachPoint.init(rawValue:)),
            let id = json["id"]?.int.flatMap(UInt32.init(exactly:)), let name = json["name"]?.string
        else { return nil }
        let type = BPFProgramType.names.first { $0.value == json["type"]?.string }.map { BPFProgramType(rawValue: $0.key) } ?? .schedCls
        self.init(
            interfaceIndex: 0, interface: "", point: point,
            program: BPFProgram(
                id: id, name: BPFText.printable(name), tag: BPFText.printable(json["tag"]?.string ?? "?", limit: 16), type: type),
            priority: json["priority"]?.int.flatMap(UInt16.init(exactly:)), directAction: json["directAction"]?.bool)
    }
}
