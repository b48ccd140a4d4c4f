import Synchronization

/// Saved DTLS sessions of a client, by server, so the next connection to the same server is an abbreviated
/// handshake. Share one cache between the connections of a process.
public final class DTLSClientSessionCache: Sendable {
    private let sessions = Mutex<[String: DTLSSavedSession]>([:])

    /// Creates an empty cache.
    public init() {}

    /// The saved session for `key`.
    public func session(for key: String) -> DTLSSavedSession? {
        sessions.withLock { $0[key] }
    }

    /// Saves (or with `nil` forgets) the session for `key`.
    public func store(_ session: DTLSSavedSession?, for key: String) {
        sessions.withLock { $0[key] = session }
    }

    /// The number of saved sessions.
    public var count: Int { sessions.withLock { $0.count } }
}
