import Dispatch
import KernelState
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Where to capture: an interface in a namespace, named as the pcapng file names it
/// ("pod-a:eth0", "node:cni0").
public struct CapturePoint: Sendable {
    public var name: String
    public var interface: String
    /// nil: the namespace netdoctor runs in.
    public var namespace: NetNamespace?

    public init(name: String, interface: String, namespace: NetNamespace?) {
        self.name = name
        self.interface = interface
        self.namespace = namespace
    }
}

/// Captures at several points at once: each handle is activated inside its namespace on the
/// namespace thread, then read by a capture thread of its own; packets from all points meet
/// in one queue, which the caller drains in time order.
public final class CaptureSession: @unchecked Sendable {
    public let points: [CapturePoint]
    public let handles: [PcapHandle]
    private let lock = SessionLock()
    private var pending: [Packet] = []
    private var stopping = false
    private var running = 0
    private var failures: [String] = []
    /// One point to a file: the capture thread writes packet blocks itself (no merge needed).
    private var directWriter: PcapNGWriter?
    private var directLimit: Int?
    private(set) var directWritten = 0
    /// Block mode (TPACKET_V3): the kernel wakes a reader once per filled or timed-out block.
    private let immediate: Bool
    /// A pipe written once by `stop()` and never read: its read end stays readable, so every
    /// capture thread's poll returns at once instead of at its next timeout.
    private let wakeup: (read: Int32, write: Int32) = {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return (-1, -1) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }()

    /// Opens every point; nothing is captured until `start()`. Throws on the first point that
    /// cannot be opened (an unknown interface, a bad filter, no privileges).
    /// `snapLength` bounds the bytes kept per packet; in immediate mode it also sizes every ring
    /// slot, so a small buffer holds few full-size slots.
    public init(
        points: [CapturePoint], filter: String?, bufferBytes: Int32 = 4 << 20, immediate: Bool = true,
        snapLength: Int32 = 262_144
    ) throws {
        self.points = points
        self.immediate = immediate
        // Activating a packet socket costs the kernel a grace period or two (ring set-up, hook
        // registration): tens of milliseconds each, so the points are opened side by side, each
        // on a namespace worker thread. Each worker writes its own slot only.
        let slots = UnsafeMutableBufferPointer<Result<PcapHandle, any Error>?>.allocate(capacity: points.count)
        slots.initialize(repeating: nil)
        defer { slots.deallocate() }
        nonisolated(unsafe) let output = slots
        SideBySide.run(points.count) { index in
            let point = points[index]
            let open = { () throws -> PcapHandle in
                try PcapHandle(
                    interface: point.interface, filter: filter, snapLength: snapLength, bufferBytes: bufferBytes, immediate: immediate)
            }
            output[index] = Result { try point.namespace.map { try NamespaceThread.worker(index).run(in: $0, open) } ?? open() }
        }
        var handles: [PcapHandle] = []
        for (point, opened) in zip(points, slots) {
            do {
                handles.append(try opened!.get())
            } catch let error as CaptureError {
                throw CaptureError(kind: error.kind, message: "\(point.name): \(error.message)")
            }
        }
        self.handles = handles
    }

    /// Closes every handle at once (each close waits for the kernel's grace period too). Call
    /// after `stop()`; the session captures nothing afterwards. `waiting: false` returns at once
    /// and lets the closes finish on a thread of their own (a trace has more to do meanwhile).
    public func close(waiting: Bool = true) {
        lock.lock(); let left = running; lock.unlock()
        guard left == 0 else { return }  // a capture thread still reads: leave it to deinit
        let handles = self.handles
        let closeAll: @Sendable () -> Void = { SideBySide.run(handles.count) { handles[$0].close() } }
        if waiting { closeAll() } else { SideBySide.detached(closeAll) }
    }

    /// For a single point: its capture thread writes straight to `writer`, up to `limit` packets.
    public func writeDirectly(to writer: PcapNGWriter, limit: Int?) {
        precondition(points.count == 1, "a direct write needs a single point")
        directWriter = writer
        directLimit = limit
    }

    var isDirect: Bool { directWriter != nil }

    /// Starts one capture thread per point.
    public func start() {
        for index in handles.indices {
            lock.lock(); running += 1; lock.unlock()
            let box = Unmanaged.passRetained(CaptureThreadContext(session: self, index: index))
            var thread = pthread_t()
            let status = pthread_create(
                &thread, nil,
                { raw in
                    let context = Unmanaged<CaptureThreadContext>.fromOpaque(raw!).takeRetainedValue()
                    context.session.captureLoop(context.index)
                    return nil
                }, box.toOpaque())
            if status != 0 {
                box.release()
                lock.lock(); running -= 1; failures.append("cannot start a capture thread"); lock.unlock()
            } else {
                pthread_detach(thread)
            }
        }
    }

    private func captureLoop(_ index: Int) {
        let handle = handles[index]
        var pollers = [
            pollfd(fd: handle.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeup.read, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            lock.lock()
            let stop = stopping
            lock.unlock()
            let healthy: Bool
            if let writer = directWriter {
                // The count is kept locally (the callback escapes into pcap_dispatch) and added up after.
                let tally = DirectTally(limit: directLimit.map { $0 - directCount })
                healthy = handle.drainRaw { seconds, nanoseconds, length, bytes in
                    if let limit = tally.limit, tally.written >= limit { return false }
                    do {
                        try writer.write(point: 0, timestamp: seconds * 1_000_000_000 + nanoseconds, originalLength: length, bytes: bytes)
                    } catch { tally.failure = (error as? CaptureError)?.message ?? "\(error)"; return false }
                    tally.written += 1
                    return true
                }
                lock.lock()
                directWritten += tally.written
                if let failure = tally.failure { failures.append(failure) }
                lock.unlock()
                // A file that cannot be written ends this point's capture (the run sees why).
                if tally.failure != nil {
                    lock.lock(); running -= 1; lock.unlock()
                    return
                }
            } else {
                var batch: [Packet] = []
                healthy = handle.drain(point: index, into: &batch)
                if !batch.isEmpty { lock.lock(); pending += batch; lock.unlock() }
            }
            if stop || !healthy {
                lock.lock()
                if !healthy && !stop { failures.append("\(points[index].name): the capture ended (interface gone?)") }
                running -= 1
                lock.unlock()
                return
            }
            // A stop request wakes the poll (the cap only bounds a missed one); every packet
            // already queued is read (drain above) before the thread ends. In immediate mode,
            // after a packet, a millisecond's pause lets a burst gather: one wake-up per burst,
            // not per packet. Block mode needs no pause: the kernel batches already.
            pollers[0].revents = 0
            pollers[1].revents = 0
            if poll(&pollers, 2, 500) > 0, immediate, pollers[0].revents != 0 { usleep(1000) }
        }
    }

    /// Packets captured so far, handed over once each.
    public func take() -> [Packet] {
        lock.lock()
        defer { lock.unlock() }
        let taken = pending
        pending.removeAll(keepingCapacity: true)
        return taken
    }

    /// Asks every capture thread to read what is left and end; waits for them (bounded).
    public func stop(timeoutMilliseconds: Int = 2000) {
        lock.lock(); stopping = true; lock.unlock()
        var one: UInt8 = 1
        _ = write(wakeup.write, &one, 1)
        var waited = 0
        while waited < timeoutMilliseconds {
            lock.lock(); let left = running; lock.unlock()
            if left == 0 { return }
            usleep(5000)
            waited += 5
        }
    }

    deinit {
        if wakeup.read >= 0 { Glibc.close(wakeup.read); Glibc.close(wakeup.write) }
    }

    public var problems: [String] { lock.lock(); defer { lock.unlock() }; return failures }

    /// Packets written by the direct path so far.
    var directCount: Int { lock.lock(); defer { lock.unlock() }; return directWritten }
}

final class CaptureThreadContext {
    let session: CaptureSession
    let index: Int
    init(session: CaptureSession, index: Int) {
        self.session = session
        self.index = index
    }
}

/// A mutex at a stable address.
final class SessionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    deinit { pthread_mutex_destroy(mutex); mutex.deallocate() }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}

/// Packets written by one direct drain, and why it stopped early.
final class DirectTally {
    let limit: Int?
    /// Touched once a packet by the capture thread alone: no dynamic exclusivity checks.
    @exclusivity(unchecked) var written = 0
    var failure: String?
    init(limit: Int?) { self.limit = limit }
}
