import Capture
import KernelState
import NetAddress
import NetSystem
import PathFacts

/// Captures at the hops of a path, for one probe: a point on every hop whose interface is up
/// (libpcap cannot open a down one, and nothing crosses it anyway), then what each saw.
struct HopCapture {
    let session: CaptureSession?
    /// Which hop each capture point watches.
    let watched: [Int]
    private(set) var problems: [String] = []

    /// `namespaces` opens each pod hop's namespace (the node's is the one netdoctor runs in). A
    /// hop whose namespace cannot be opened is not watched, and says so: capturing its interface
    /// name in the node's namespace instead would watch another interface.
    init(hops: [TraceHop], filter: String, namespaces: (KnownNamespace) throws -> NetNamespace, label: String? = nil) {
        var watched: [Int] = [], points: [CapturePoint] = [], problems: [String] = []
        for index in hops.indices where hops[index].link?.isUp != false {
            let hop = hops[index]
            do {
                guard let known = hop.namespace else { continue }  // another node's: its agent watches it
                let namespace = known.isNode ? nil : try namespaces(known)
                points.append(CapturePoint(name: hop.name, interface: hop.interface, namespace: namespace))
                watched.append(index)
            } catch {
                problems.append("\(hop.name): its namespace could not be opened (\(error)): not watched")
            }
        }
        self.watched = watched
        self.problems = problems
        do {
            // Headers are all a verdict needs (VXLAN's inner ones end within 110 bytes): short
            // slots make a small ring hold hundreds of packets, and cost less to set up.
            session = points.isEmpty ? nil : try CaptureSession(points: points, filter: filter, bufferBytes: 256 << 10, snapLength: 256)
        } catch {
            session = nil
            problems.append("no capture\(label.map { " on \($0)" } ?? ""): \(error)")
        }
        // Packets queue in each ring from activation on: no need to wait for the threads.
        session?.start()
    }

    /// Stops, and says for each hop (in the order given) whether the request and the reply went
    /// by (unknown where it was not watched), and the source addresses the request was seen with
    /// (after any masquerading on the way).
    mutating func finish(_ hops: [TraceHop], signature: ProbeSignature) -> (seen: [HopSeen], sources: [IPAddress]) {
        var marks = [HopSeen](repeating: .unknown, count: hops.count)
        guard let session else { return (marks, []) }
        var sources: [IPAddress] = []
        session.stop()
        let packets = session.take()
        problems += session.problems
        session.close(waiting: false)
        for (point, index) in watched.enumerated() {
            let linkType = session.handles[point].linkType
            let seen = packets.filter { $0.point == point }.compactMap { PacketFields.parse($0.bytes, linkType: linkType)?.innermost }
            let requests = seen.filter(signature.isRequest)
            marks[index] = HopSeen(request: !requests.isEmpty, reply: seen.contains(where: signature.isReply))
            for source in requests.compactMap(\.source) where !sources.contains(source) { sources.append(source) }
        }
        return (marks, sources)
    }

    /// Ends the captures without reading them.
    func abandon() {
        session?.stop()
        session?.close(waiting: false)
    }
}
