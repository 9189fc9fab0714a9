/// An nf_tables rule's expressions as the kernel lists them (linux/netfilter/nf_tables.h): what
/// iptables-nft compiled a rule into. iptables-save prints these back as iptables options; a
/// reader that only needs a few options can take them from here without it.
extension NFTables {
    /// One rule: its chain, its expressions in order, and a comment kept in its user data.
    public struct Rule: Sendable, Equatable {
        public var table: String
        public var chain: String
        public var expressions: [Expression]
        /// NFTNL_UDATA_RULE_COMMENT in NFTA_RULE_USERDATA, where nft (and an iptables-nft that
        /// does not use the xt comment match) keeps a comment.
        public var comment: String?
        /// NFTA_RULE_HANDLE: what nft -a shows, and what a trace event names the rule by.
        public var handle: UInt64?

        /// Every comment the rule carries: its user data's, and iptables-nft's xt comment matches.
        public var comments: [String] {
            (comment.map { [$0] } ?? [])
                + expressions.compactMap { expression in
                    guard case .match("comment", _, let info) = expression else { return nil }
                    let text = String(decoding: info.prefix { $0 != 0 }, as: UTF8.self)
                    return text.isEmpty ? nil : text
                }
        }

        public init(table: String, chain: String, expressions: [Expression], comment: String? = nil) {
            self.table = table
            self.chain = chain
            self.expressions = expressions
            self.comment = comment
        }
    }

    /// The expressions a rule is made of. Values stay as the kernel gave them: `compare` data and
    /// `immediate` data in the register's byte order (network order for packet fields), match and
    /// target info as the xtables extension's struct; slices of the message, copied by no one.
    public enum Expression: Sendable, Equatable {
        /// `meta load KEY => reg`.
        case meta(key: UInt32, register: UInt32)
        /// `payload load LENGTH @ BASE + OFFSET => reg`: base 0 link, 1 network, 2 transport header.
        case payload(base: UInt32, offset: UInt32, length: UInt32, register: UInt32)
        /// `cmp OP reg DATA`.
        case compare(register: UInt32, op: CompareOp, data: ArraySlice<UInt8>)
        /// `bitwise reg = (reg & MASK) ^ XOR` (the mask-and-xor form; shifts have no mask).
        case bitwise(source: UInt32, destination: UInt32, mask: ArraySlice<UInt8>, xor: ArraySlice<UInt8>)
        /// `immediate reg 0 VERDICT`: accept, drop, return, jump or goto a chain.
        case verdict(Verdict)
        /// `immediate reg DATA`.
        case immediate(register: UInt32, data: ArraySlice<UInt8>)
        case counter(Counter)
        /// An xtables match or target run through nft_compat: its name, revision and info struct.
        case match(name: String, revision: UInt32, info: ArraySlice<UInt8>)
        case target(name: String, revision: UInt32, info: ArraySlice<UInt8>)
        /// Any other expression, by name.
        case other(name: String)
    }

    /// NFT_CMP_*.
    public enum CompareOp: UInt32, Sendable {
        case equal = 0, notEqual, less, lessOrEqual, greater, greaterOrEqual
    }

    /// A verdict: NF_DROP 0, NF_ACCEPT 1, NFT_CONTINUE -1, NFT_BREAK -2, NFT_JUMP -3, NFT_GOTO -4,
    /// NFT_RETURN -5.
    public struct Verdict: Sendable, Equatable {
        public var code: Int32
        public var chain: String?

        public init(code: Int32, chain: String? = nil) {
            self.code = code
            self.chain = chain
        }

        public static let drop: Int32 = 0, accept: Int32 = 1, jump: Int32 = -3, goto: Int32 = -4, `return`: Int32 = -5
    }

    /// NFT_META_L4PROTO, NFT_META_MARK, NFT_META_IIFNAME, NFT_META_OIFNAME, NFT_META_PRANDOM.
    public static let metaL4Proto: UInt32 = 16, metaMark: UInt32 = 3, metaInputName: UInt32 = 6, metaOutputName: UInt32 = 7
    /// NFT_PAYLOAD_NETWORK_HEADER, NFT_PAYLOAD_TRANSPORT_HEADER.
    public static let networkHeader: UInt32 = 1, transportHeader: UInt32 = 2

    /// A NEWRULE message's table, chain and expressions; nil for another message, or (without
    /// decoding the expressions) a rule of a table and chain `wanted` says no to: a table of tens
    /// of thousands of rules is read for the chains a caller needs.
    public static func rule(
        expressionsOf message: NetlinkMessage,
        wanted: (_ table: ArraySlice<UInt8>, _ chain: ArraySlice<UInt8>) -> Bool = { _, _ in true }
    ) throws(NetlinkDecodeError) -> Rule? {
        guard message.type == newRule, message.payload.count >= GenericHeader.size else { return nil }
        var table: ArraySlice<UInt8> = []
        var chain: ArraySlice<UInt8>? = nil
        var expressions: ArraySlice<UInt8>? = nil
        var userdata: ArraySlice<UInt8>? = nil
        var handle: UInt64? = nil
        try Attribute.forEach(in: message.payload.dropFirst(GenericHeader.size)) { type, payload in
            switch NFTA.Rule(rawValue: type) {
            case .table: table = payload.prefix { $0 != 0 }
            case .chain: chain = payload.prefix { $0 != 0 }
            case .handle: if payload.count == 8 { handle = bigEndian64(payload) }
            case .expressions: expressions = payload
            case .userdata: userdata = payload
            case nil: break
            }
        }
        guard let chain else { return nil }
        guard wanted(table, chain) else { return nil }
        var rule = Rule(table: String(decoding: table, as: UTF8.self), chain: String(decoding: chain, as: UTF8.self), expressions: [])
        if let expressions {
            try Attribute.forEach(in: expressions) { (_, element) throws(NetlinkDecodeError) in
                rule.expressions.append(try expression(element))
            }
        }
        rule.comment = userdata.flatMap(comment(userdata:))
        rule.handle = handle
        return rule
    }

    /// One NFTA_LIST_ELEM: NFTA_EXPR_NAME and NFTA_EXPR_DATA.
    static func expression(_ element: ArraySlice<UInt8>) throws(NetlinkDecodeError) -> Expression {
        var name: ArraySlice<UInt8> = []
        var data: ArraySlice<UInt8> = []
        try Attribute.forEach(in: element) { type, payload in
            switch NFTA.Expression(rawValue: type) {
            case .name: name = payload.prefix { $0 != 0 }
            case .data: data = payload
            case nil: break
            }
        }
        // A handful of attributes each, looked up by a scan: no table built per expression (a
        // node's nat table has hundreds of thousands).
        let values = { (type: UInt16) -> ArraySlice<UInt8>? in attribute(type, in: data) }
        let u32 = { (type: UInt16) -> UInt32 in values(type).map(bigEndian32) ?? 0 }
        // Names compared as bytes: no String made for the common ones.
        let named = { (word: StaticString) in name.elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
        }
        if named("meta"), values(1) != nil {  // a load (a set has NFTA_META_SREG instead)
            return .meta(key: u32(2), register: u32(1))
        }
        if named("payload"), values(1) != nil {
            return .payload(base: u32(2), offset: u32(3), length: u32(4), register: u32(1))
        }
        if named("cmp") {
            guard let op = CompareOp(rawValue: u32(2)) else { return .other(name: "cmp") }
            return .compare(register: u32(1), op: op, data: try value(values(3)))
        }
        if named("bitwise"), values(4) != nil {
            return .bitwise(source: u32(1), destination: u32(2), mask: try value(values(4)), xor: try value(values(5)))
        }
        if named("immediate") {
            guard let data = values(2) else { return .other(name: "immediate") }
            if u32(1) == 0 { return .verdict(try verdict(data)) }
            return .immediate(register: u32(1), data: try value(data))
        }
        if named("counter") {
            return .counter(Counter(packets: values(2).map(bigEndian64) ?? 0, bytes: values(1).map(bigEndian64) ?? 0))
        }
        if named("match") || named("target") {
            let extensionName = String(decoding: (values(1) ?? []).prefix { $0 != 0 }, as: UTF8.self)
            let info = values(3) ?? []
            return named("match")
                ? .match(name: extensionName, revision: u32(2), info: info)
                : .target(name: extensionName, revision: u32(2), info: info)
        }
        return .other(name: String(decoding: name, as: UTF8.self))
    }

    /// NFTA_DATA_VALUE inside an NFTA_*_DATA attribute.
    static func value(_ nested: ArraySlice<UInt8>?) throws(NetlinkDecodeError) -> ArraySlice<UInt8> {
        nested.flatMap { attribute(1, in: $0) } ?? []
    }

    /// NFTA_DATA_VERDICT: NFTA_VERDICT_CODE (be32, signed) and NFTA_VERDICT_CHAIN.
    static func verdict(_ nested: ArraySlice<UInt8>) throws(NetlinkDecodeError) -> Verdict {
        var result = Verdict(code: Verdict.accept)
        try Attribute.forEach(in: nested) { (type, payload) throws(NetlinkDecodeError) in
            guard type == 2 else { return }
            try Attribute.forEach(in: payload) { inner, field in
                if inner == 1, field.count >= 4 { result.code = Int32(bitPattern: bigEndian32(field)) }
                if inner == 2 { result.chain = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self) }
            }
        }
        return result
    }

    /// The first attribute of a type in `bytes`, or nil (also for bytes that do not parse).
    static func attribute(_ wanted: UInt16, in bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            let type = (UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8) & 0x3FFF
            guard length >= 4, offset + length <= bytes.endIndex else { return nil }
            if type == wanted { return bytes[(offset + 4)..<(offset + length)] }
            offset += (length + 3) & ~3
        }
        return nil
    }

    /// libnftnl's user-data TLVs (type u8, length u8, value): type 0 is the rule's comment.
    static func comment(userdata: ArraySlice<UInt8>) -> String? {
        var at = userdata.startIndex
        while at + 2 <= userdata.endIndex {
            let type = userdata[at], length = Int(userdata[at + 1])
            let end = at + 2 + length
            guard end <= userdata.endIndex else { return nil }
            if type == 0 { return String(decoding: userdata[(at + 2)..<end].prefix { $0 != 0 }, as: UTF8.self) }
            at = end
        }
        return nil
    }

    static func bigEndian32(_ payload: ArraySlice<UInt8>) -> UInt32 {
        payload.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}
