/// nf_tables' trace events (NFT_MSG_TRACE on the NFNLGRP_NFTRACE multicast group): for a packet
/// whose nftrace bit is set, one event per rule it matched, per chain it returned from and per
/// base chain policy it met (linux/netfilter/nf_tables.h, NFTA_TRACE_*).
extension NFTables {
    /// NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_TRACE.
    public static let trace = MessageType(rawValue: 10 << 8 | 17)
    /// NFNLGRP_NFTRACE.
    public static let traceGroup: Int32 = 9

    public struct TraceEvent: Sendable, Equatable {
        public enum Kind: UInt32, Sendable {
            case policy = 1, `return` = 2, rule = 3
        }

        /// NFPROTO_* of the table (nfgenmsg's family).
        public var family: UInt8
        public var table: String
        public var chain: String
        public var handle: UInt64?
        public var kind: Kind?
        public var verdict: Verdict?
        /// The same for every event of one packet's walk (NFTA_TRACE_ID).
        public var id: UInt32
        public var inputInterface: UInt32?
        public var outputInterface: UInt32?
        /// A base chain's policy verdict (NFTA_TRACE_POLICY).
        public var policy: UInt32?
    }

    /// A trace event; nil for another message.
    public static func traceEvent(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> TraceEvent? {
        guard message.type == trace, message.payload.count >= GenericHeader.size else { return nil }
        let header = try GenericHeader(parsing: message.payload)
        var event = TraceEvent(family: header.family, table: "", chain: "", id: 0)
        try Attribute.forEach(in: message.payload.dropFirst(GenericHeader.size)) { (type, payload) throws(NetlinkDecodeError) in
            switch NFTA.Trace(rawValue: type) {
            case .table: event.table = String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
            case .chain: event.chain = String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
            case .ruleHandle: if payload.count == 8 { event.handle = bigEndian64(payload) }
            case .type: if payload.count >= 4 { event.kind = TraceEvent.Kind(rawValue: bigEndian32(payload)) }
            case .verdict: event.verdict = try verdictOnly(payload)
            case .id: if payload.count >= 4 { event.id = bigEndian32(payload) }
            case .inputInterface: if payload.count >= 4 { event.inputInterface = bigEndian32(payload) }
            case .outputInterface: if payload.count >= 4 { event.outputInterface = bigEndian32(payload) }
            case .policy: if payload.count >= 4 { event.policy = bigEndian32(payload) }
            case nil: break
            }
        }
        return event
    }

    /// NFTA_TRACE_VERDICT holds NFTA_VERDICT_CODE and NFTA_VERDICT_CHAIN directly.
    static func verdictOnly(_ payload: ArraySlice<UInt8>) throws(NetlinkDecodeError) -> Verdict {
        var result = Verdict(code: Verdict.accept)
        try Attribute.forEach(in: payload) { inner, field in
            switch NFTA.Verdict(rawValue: inner) {
            case .code: if field.count >= 4 { result.code = Int32(bitPattern: bigEndian32(field)) }
            case .chain: result.chain = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
            case nil: break
            }
        }
        return result
    }
}

extension NFTables.Verdict {
    /// As nft writes it: accept, drop, continue, return, jump CHAIN, goto CHAIN.
    public var words: String {
        switch code {
        case 0: "drop"
        case 1: "accept"
        case 2: "stolen"
        case 3: "queue"
        case -1: "continue"
        case -2: "break"
        case -3: "jump \(chain ?? "?")"
        case -4: "goto \(chain ?? "?")"
        case -5: "return"
        // NF_QUEUE carries its queue number in the upper 16 bits.
        default: code & 0xFF == 3 ? "queue \(UInt32(bitPattern: code) >> 16)" : "verdict \(code)"
        }
    }
}
