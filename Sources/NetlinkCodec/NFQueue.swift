/// nfnetlink_queue (linux/netfilter/nfnetlink_queue.h): packets a rule sent to a queue, and the
/// verdicts a listener gives. The lab's kube-network-policies stand-in speaks it.
public enum NFQueue {
    /// NFQA_*: a queued packet's attributes and a verdict's.
    public enum Attribute: UInt16, AttributeType { case packetHeader = 1, verdictHeader = 2, payload = 10 }
    /// NFQA_CFG_*: a configuration request's.
    public enum ConfigAttribute: UInt16, AttributeType { case command = 1, params = 2 }

    /// NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET, _VERDICT, _CONFIG.
    public static let packet = MessageType(rawValue: 3 << 8 | 0)
    public static let verdict = MessageType(rawValue: 3 << 8 | 1)
    public static let config = MessageType(rawValue: 3 << 8 | 2)

    /// struct nfgenmsg with the queue number as res_id (big-endian).
    static func header(queue: UInt16) -> [UInt8] { [0, 0, UInt8(queue >> 8), UInt8(queue & 0xFF)] }

    /// NFQNL_CFG_CMD_BIND (NFQA_CFG_CMD: command, pad, be16 pf), then NFQA_CFG_PARAMS: copy
    /// `range` bytes of each packet (NFQNL_COPY_PACKET).
    public static func bind(queue: UInt16, copyRange: UInt32 = 128) -> [NetlinkMessage] {
        var command = WireWriter()
        command.attribute(ConfigAttribute.command, [1, 0, 0, 0])
        var params = WireWriter()
        params.attribute(
            ConfigAttribute.params,
            [UInt8(copyRange >> 24), UInt8(copyRange >> 16 & 0xFF), UInt8(copyRange >> 8 & 0xFF), UInt8(copyRange & 0xFF), 2])
        return [
            NetlinkMessage(type: config, flags: [.request, .ack], payload: header(queue: queue) + command.bytes),
            NetlinkMessage(type: config, flags: [.request, .ack], payload: header(queue: queue) + params.bytes),
        ]
    }

    /// A queued packet: its ID (NFQA_PACKET_HDR) and its bytes from the network header (NFQA_PAYLOAD).
    public static func queuedPacket(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> (id: UInt32, payload: ArraySlice<UInt8>)? {
        guard message.type == packet, message.payload.count >= 4 else { return nil }
        var id: UInt32? = nil
        var payload: ArraySlice<UInt8> = []
        try NetlinkCodec.Attribute.forEach(in: message.payload.dropFirst(4)) { type, value in
            switch Attribute(rawValue: type) {
            case .packetHeader: if value.count >= 4 { id = NFTables.bigEndian32(value) }
            case .payload: payload = value
            case .verdictHeader, nil: break
            }
        }
        return id.map { ($0, payload) }
    }

    /// NFQA_VERDICT_HDR: be32 verdict (NF_DROP 0, NF_ACCEPT 1), be32 packet ID.
    public static func verdict(queue: UInt16, id: UInt32, accept: Bool) -> NetlinkMessage {
        var w = WireWriter()
        let code: UInt32 = accept ? 1 : 0
        w.attribute(
            Attribute.verdictHeader,
            [0, 0, 0, UInt8(code), UInt8(id >> 24), UInt8(id >> 16 & 0xFF), UInt8(id >> 8 & 0xFF), UInt8(id & 0xFF)])
        return NetlinkMessage(type: verdict, flags: [.request], payload: header(queue: queue) + w.bytes)
    }
}
