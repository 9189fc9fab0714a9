import NetAddress
import Netlink
import NetlinkCodec

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// One route lookup, as `ip route get DST [from SRC] [iif DEV] [fibmatch]` asks it.
public struct RouteQuery: Sendable, Hashable, CustomStringConvertible {
    public var destination: IPAddress
    public var source: IPAddress?
    /// The interface the packet arrives on (a forwarding decision), by index.
    public var inputIndex: Int32?
    /// The FIB entry rather than the lookup's result (which carries a cached PMTU as its MTU).
    public var fibMatch: Bool

    public init(destination: IPAddress, source: IPAddress? = nil, inputIndex: Int32? = nil, fibMatch: Bool = false) {
        self.destination = destination
        self.source = source
        self.inputIndex = inputIndex
        self.fibMatch = fibMatch
    }

    public var request: NetlinkMessage {
        RouteRequest.lookup(destination: destination, source: source, inputIndex: inputIndex, fibMatch: fibMatch)
    }

    /// `get 10.0.0.2 from 10.0.0.1 iif 7 fibmatch`: also the key a recording stores it under.
    public var description: String {
        "get \(destination)" + (source.map { " from \($0)" } ?? "") + (inputIndex.map { " iif \($0)" } ?? "")
            + (fibMatch ? " fibmatch" : "")
    }

    /// Reads `description` back; nil for anything else.
    public init?(recorded text: String) {
        let words = text.split(separator: " ").map(String.init)
        guard words.count >= 2, words[0] == "get", let destination = IPAddress.parse(words[1]) else { return nil }
        self.init(destination: destination)
        var i = 2
        while i < words.count {
            switch words[i] {
            case "from" where i + 1 < words.count: source = IPAddress.parse(words[i + 1]); i += 2
            case "iif" where i + 1 < words.count: inputIndex = Int32(words[i + 1]); i += 2
            case "fibmatch": fibMatch = true; i += 1
            default: return nil
            }
        }
    }
}

/// The kernel's answer to a route lookup. "No route" is an answer about the network; a lookup
/// that could not be asked (permission, a namespace gone, a malformed reply) is not, and is
/// never judged as one.
public enum RouteAnswer: Sendable {
    /// A route packets take: unicast, or local delivery.
    case route(Route)
    /// The kernel says there is no way: no route, or one that rejects (unreachable, prohibit,
    /// blackhole, a reverse-path check). `why` in the kernel's words.
    case noRoute(why: String)
    /// The question got no answer about the network.
    case failed(why: String)

    public var route: Route? { if case .route(let route) = self { return route }; return nil }
    public var isNoRoute: Bool { if case .noRoute = self { return true }; return false }
    public var failure: String? { if case .failed(let why) = self { return why }; return nil }

    /// Judges a reply or an error from the kernel, for `query`.
    public static func judging(_ reply: Result<NetlinkMessage, NetlinkError>, for query: RouteQuery) -> RouteAnswer {
        switch reply {
        case .success(let message):
            guard let route = try? Route(message) else { return .failed(why: "the kernel's reply to `\(query)` does not parse") }
            switch route.type {
            case .unicast, .local: return .route(route)
            default: return .noRoute(why: "a route of type \(route.type)")
            }
        case .failure(.kernel(let code, let message)):
            let text = String(cString: strerror(code)) + (message.map { " (\($0))" } ?? "")
            switch code {
            case ENETUNREACH, EHOSTUNREACH, EACCES, EXDEV: return .noRoute(why: text)
            // A blackhole route, and a martian on input, answer EINVAL; so does a request the
            // kernel cannot parse. Only an input lookup is taken as the network's answer.
            case EINVAL where query.inputIndex != nil: return .noRoute(why: text)
            default: return .failed(why: "`\(query)`: \(text)")
            }
        case .failure(let error):
            return .failed(why: "`\(query)`: \(error)")
        }
    }
}

/// Who answers route lookups: a namespace's kernel, or a recording of it.
public protocol RouteOracle: AnyObject {
    func lookup(_ query: RouteQuery) -> RouteAnswer
}
