/// Looks up pre-shared keys by PSK identity for a DTLS server.
///
/// Called on the transport's event loop during a handshake: keep it fast and non-blocking (an in-memory map, or a
/// cache in front of a database).
public protocol DTLSPSKStore: Sendable {
    /// The key for `identity`, or `nil` when the identity is unknown (the handshake then fails with an alert).
    func key(forIdentity identity: String) -> [UInt8]?
}

/// A fixed identity -> key table.
public struct DTLSStaticPSKStore: DTLSPSKStore {
    /// The keys by identity.
    public var keys: [String: [UInt8]]

    /// Creates a store from an identity -> key table.
    public init(_ keys: [String: [UInt8]]) {
        self.keys = keys
    }

    /// The key for `identity`.
    public func key(forIdentity identity: String) -> [UInt8]? { keys[identity] }
}
