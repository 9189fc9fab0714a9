import ArgumentParser
import Capture
import ConfigFormats
import Diagnosis
import KernelState
import NetSystem
import Pods
import Session

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Set by SIGINT or SIGTERM; the capture loop ends cleanly when it sees it.
nonisolated(unsafe) private var captureStopRequested: sig_atomic_t = 0

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "libpcap capture in pod and node namespaces, several points at once, pcapng files.",
        discussion: """
            Each TARGET is a pod (its eth0), POD:IFACE, or node:IFACE (the namespace netdoctor runs in). \
            The pcap handle is activated inside the target's namespace, then read by a capture thread \
            of its own; one pcap-filter expression applies to every point. Without --write, one line per \
            packet (time, point, addresses, protocol, length) and at the end each point's counts with \
            the kernel's received and dropped figures. With --write, a pcapng file with one interface \
            per point (named pod-a:eth0, node:cni0, …), packets in time order, and the kernel's counts; \
            Wireshark and tshark read it. Ends on --count (1 to 1,000,000,000), --duration (more than 0, \
            at most 604800 s, a week), Ctrl-C (SIGINT), SIGTERM, SIGHUP (a closed terminal), or a closed \
            standard output (`| head`), always with a complete file. A file that cannot be written \
            (full disk, I/O error) ends the capture with exit 3; the file keeps every whole packet before it.
            Exit status: 0, 2 bad filter, unknown pod or interface, unwritable file, bad --count or \
            --duration, 3 missing privileges or a write that failed.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("POD, POD:IFACE or node:IFACE; several at once.", valueName: "target"))
    var targets: [String]

    @Option(help: "A pcap-filter expression (as tcpdump takes), applied at every point.")
    var filter: String?

    @Option(help: "Stop after this many packets (over all points).")
    var count: Int?

    @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(help: ArgumentHelp("Write a pcapng file instead of printing packets.", valueName: "file"), completion: .file())
    var write: String?

    @Option(help: ArgumentHelp("The kernel buffer per point, in MiB (larger for floods).", valueName: "MiB"))
    var bufferSize: Int32 = 8

    @Flag(help: "With --write, still hand over each packet as it comes (immediate mode) instead of in blocks.")
    var immediate = false

    static let maxCount = 1_000_000_000
    static let maxDuration = 604_800.0

    func validate() throws {
        if targets.isEmpty { throw ValidationError("name at least one target (POD, POD:IFACE or node:IFACE)") }
        if let count, !(1...Self.maxCount).contains(count) { throw ValidationError("--count must be between 1 and \(Self.maxCount)") }
        // nan, inf and the huge ones would overflow the deadline's arithmetic.
        if let duration, !(duration.isFinite && duration > 0 && duration <= Self.maxDuration) {
            throw ValidationError("--duration must be a number of seconds above 0 and at most \(Int(Self.maxDuration)) (a week)")
        }
        if !(1...1024).contains(bufferSize) { throw ValidationError("--buffer-size must be between 1 and 1024 MiB") }
    }

    func run() throws {
        // The runtime and the result cache are asked only when a target names a pod.
        let node = try global.session(naming: NodeSession.pods(namedByCaptureTargets: targets))
        let capture: OpenedCapture
        do {
            // Printing packets wants each as it comes; a file, like tcpdump -w, takes blocks.
            capture = try node.openCapture(targets, filter: filter, bufferBytes: bufferSize << 20, immediate: write == nil || immediate)
        } catch let error as CaptureError {
            throw CLIError(error.kind == .permission ? .environment : .badInput, "capture: \(error.message)")
        } catch {
            throw CLIError(kernelError: error, doing: "capture")
        }
        let (points, session) = (capture.points, capture.session)
        // The file is created only once every point is open: a bad target leaves nothing behind.
        var writer: PcapNGWriter? = nil
        if let write {
            do {
                writer = try PcapNGWriter(
                    path: write, interfaces: zip(points, session.handles).map { ($0.name, $1.linkType, $1.snapLength) })
            } catch {
                throw CLIError(.badInput, "capture: \(error.message)")
            }
        }
        // A closed terminal (SIGHUP) ends it like Ctrl-C, as tcpdump does: the file is kept whole.
        for stop in [SIGINT, SIGTERM, SIGHUP] { signal(stop) { _ in captureStopRequested = 1 } }
        // A parent may have started us with them blocked; Ctrl-C must work.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        let live = writer == nil && global.output == .human
        // One point to a file: its capture thread writes the blocks itself, as tcpdump -w does.
        if let writer, points.count == 1 { session.writeDirectly(to: writer, limit: count) }
        // As tcpdump says "listening on": every point is capturing from here on.
        FileHandleStandardError.write(
            "netdoctor: "
                + Printable.line("capturing at \(points.map(\.name).joined(separator: ", "))\(filter.map { " (filter: \($0))" } ?? "")")
                + "\n")
        let style = TextStyle.forStandardOutput(noColorFlag: global.noColor)
        let outcome: CaptureRun.Outcome
        do {
            outcome = try CaptureRun(count: count, durationSeconds: duration).run(session, shouldStop: { captureStopRequested != 0 }) {
                packet in
                if let writer { try writer.write(packet) }
                if live {
                    let handle = session.handles[packet.point]
                    // Nobody reads any more (`| head` ended): stop, as tcpdump does.
                    if !writeStandardOutput(
                        "\(Self.clock(packet)) \(style.cyan(points[packet.point].name)) "
                            + PacketSummary.describe(packet.bytes, linkType: handle.linkType, length: packet.originalLength) + "\n")
                    {
                        captureStopRequested = 1
                    }
                }
            }
            try writer?.finish(
                statistics: session.handles.map { ($0.statistics.received, $0.statistics.dropped) },
                timestamp: Int64(time(nil)) * 1_000_000_000)
        } catch let error as CaptureError {
            throw CLIError(.environment, "capture: \(error.message)")
        }
        global.emit(node.report(capture, outcome: outcome, file: write))
    }

    /// hh:mm:ss.nnnnnnnnn (UTC), as tcpdump prints times.
    static func clock(_ packet: Packet) -> String {
        let day = packet.seconds % 86_400
        let parts = [day / 3600, day / 60 % 60, day % 60].map { ($0 < 10 ? "0" : "") + String($0) }
        let fraction = String(packet.nanoseconds)
        return parts.joined(separator: ":") + "." + String(repeating: "0", count: max(0, 9 - fraction.count)) + fraction
    }
}
