/// A ``DTLSPSKStore`` that asks a closure, e.g. an application's credential store:
/// `DTLSClosurePSKStore { identity in securityStore.pskKey(identity: identity) }`.
public struct DTLSClosurePSKStore: DTLSPSKStore {
    private let lookup: @Sendable (String) -> [UInt8]?

    /// Creates a store that answers with `lookup` (called on the event loop during handshakes: keep it fast).
    public init(_ lookup: @escaping @Sendable (_ identity: String) -> [UInt8]?) {
        self.lookup = lookup
    }

    /// The key for `identity`.
    public func key(forIdentity identity: String) -> [UInt8]? { lookup(identity) }
}
