import ConfigFormats
import NetAddress
import NodeFiles

/// An address host-local holds: a file named by the address, holding the container ID, and
/// since plugins v0.8.6 a second line with the interface (`ID\r\neth0`); older files hold the ID
/// alone (plugins' backend/disk/backend.go).
public struct IPAMReservation: Sendable, Equatable {
    public var address: IPAddress
    /// nil when the file could not be read (or was not: see HostLocalStore.unreadFiles).
    public var containerID: String?
    public var interface: String?
    /// The file's node path: what an operator removes to release a leaked address.
    public var file: String
}

/// What one network's host-local data dir holds, read without taking host-local's lock (a
/// reader sees either the state before an ADD or after it: each reservation is one file).
public struct HostLocalStore: Sendable, Equatable {
    public var directory: String
    public var reservations: [IPAMReservation]
    /// `last_reserved_ip.N`: where range set N's allocator resumes.
    public var lastReserved: [Int: IPAddress]
    /// Entries that are neither an address, a `last_reserved_ip.N`, nor `lock`.
    public var strayEntries: [String]
    /// Reservations counted by name whose content was not read (a directory past the limit).
    public var unreadFiles: Int
    /// Reservations whose file could not be read (files are 0600 since plugins v1.4.0; a FIFO or
    /// a directory where a file belongs), with why: their holder is unknown.
    public var unreadable: [String] = []
    /// Why the directory could not be listed; nil when it was (a missing one is empty: no pod yet).
    public var problem: String?

    /// How many reservation files are read for their container ID: a range is at most a few
    /// thousand addresses; a directory of more files than that is read by name only beyond it.
    public static let contentLimit = 16_384
    /// Bytes of one reservation file that are read: an ID, CR LF and an interface name.
    static let fileLimit = 4096

    public static func read(_ directory: String, root: NodeRoot, contentLimit: Int = contentLimit) -> HostLocalStore {
        var store = HostLocalStore(
            directory: directory, reservations: [], lastReserved: [:], strayEntries: [], unreadFiles: 0, problem: nil)
        let entries: [DirectoryEntry]
        do {
            entries = try root.list(directory, withStatus: false)
        } catch {
            store.problem = "\(directory): \(error)"
            return store
        }
        var toRead: [(address: IPAddress, name: String)] = []
        for entry in entries {
            if entry.name == "lock" { continue }
            if entry.name.hasPrefix("last_reserved_ip.") {
                let index = Int(entry.name.dropFirst("last_reserved_ip.".count))
                let text = (try? root.readText(entry.nodePath, limit: fileLimit))?.trimmingCharacters()
                if let index, let address = text.flatMap(IPAddress.parse) { store.lastReserved[index] = address }
                continue
            }
            guard let address = IPAddress.parse(entry.name) else {
                if store.strayEntries.count < 20 { store.strayEntries.append(Printable.line(entry.name)) }
                continue
            }
            if toRead.count < contentLimit {
                toRead.append((address, entry.name))
            } else {
                store.unreadFiles += 1
                store.reservations.append(
                    IPAMReservation(address: address, containerID: nil, interface: nil, file: entry.nodePath))
            }
        }
        // Opened relative to the directory, resolved once (a full pool is hundreds of files).
        let contents = root.readEach(directory, names: toRead.map(\.name), limit: fileLimit)
        for ((address, _), (path, content)) in zip(toRead, contents) {
            var reservation = IPAMReservation(address: address, containerID: nil, interface: nil, file: path)
            switch content {
            case .success(let bytes): (reservation.containerID, reservation.interface) = parse(String(decoding: bytes, as: UTF8.self))
            // A FIFO, a directory or a huge file where a reservation should be: left unread.
            case .failure(let error): if store.unreadable.count < 10 { store.unreadable.append(Printable.line("\(error)")) }
            }
            store.reservations.append(reservation)
        }
        return store
    }

    /// "ID" or "ID\r\nIFNAME" (or LF alone, as a hand-edited file may have).
    public static func parse(_ text: String) -> (id: String?, interface: String?) {
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).map {
            String($0).trimmingCharacters()
        }
        let id = lines.first.flatMap { $0.isEmpty ? nil : Printable.line($0) }
        let interface = lines.dropFirst().first.flatMap { $0.isEmpty ? nil : Printable.line($0) }
        return (id, interface)
    }
}
