import ConfigFormats

extension AttachedProgram {
    /// A program on an interface as inspect and trace write it.
    public var json: ConfigValue {
        .fields([
            ("point", .string(point.rawValue)), ("id", .int(Int(program.id))), ("name", .string(program.name)),
            ("tag", .string(program.tag)), ("type", .string(program.type.description)), ("owner", .text(program.owner)),
            ("priority", priority.map { .int(Int($0)) } ?? .null), ("directAction", .flag(directAction)),
        ])
    }
}
