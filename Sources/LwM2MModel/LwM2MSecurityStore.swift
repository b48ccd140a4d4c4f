import Synchronization

/// Where a server or bootstrap server finds the credentials of its endpoints.
///
/// Lookups are synchronous and must be O(1) and non-blocking: a DTLS server calls
/// ``securityInfo(pskIdentity:)`` from its handshake callback on the event loop. A persistent or shared store
/// (SQLite, PostgreSQL) implements this protocol over a cache it keeps current, e.g. by loading at start and
/// applying change notifications.
public protocol LwM2MSecurityStore: Sendable {
    /// The security information of `endpoint`, if any.
    func securityInfo(endpoint: String) -> LwM2MSecurityInfo?
    /// The security information whose PSK identity is `pskIdentity`, if any.
    func securityInfo(pskIdentity: String) -> LwM2MSecurityInfo?
    /// Whether endpoints without any security information may use NoSec (plain CoAP). `true` is Leshan's
    /// behaviour: only endpoints with credentials must use them.
    var noSecForUnknownEndpoints: Bool { get }
}

extension LwM2MSecurityStore {
    /// The pre-shared key of `identity` (for a DTLS server's PSK callback).
    public func pskKey(identity: String) -> [UInt8]? { securityInfo(pskIdentity: identity)?.psk?.key }

    /// Whether a peer that authenticated with `credential` (`nil`: NoSec, plain CoAP) may act as `endpoint`.
    ///
    /// - A PSK identity or certificate common name must be the one stored for `endpoint`.
    /// - NoSec is allowed for an endpoint whose information allows it, and for an endpoint without information
    ///   when ``noSecForUnknownEndpoints`` is `true`; an endpoint with credentials must use them.
    public func authorize(endpoint: String, credential: LwM2MSecurityCredential?) -> LwM2MSecurityDecision {
        let info = securityInfo(endpoint: endpoint)
        switch credential {
        case nil:
            guard let info else {
                return noSecForUnknownEndpoints
                    ? .allowed : .denied(reason: "endpoint \(endpoint) has no security information and NoSec is not allowed")
            }
            return info.allowsNoSec ? .allowed : .denied(reason: "endpoint \(endpoint) must use \(info.modes), not NoSec")
        case .psk(let identity)?:
            guard let psk = info?.psk else {
                return .denied(reason: "endpoint \(endpoint) has no PSK credentials (PSK identity \(identity))")
            }
            guard psk.identity == identity else {
                return .denied(reason: "PSK identity \(identity) does not belong to endpoint \(endpoint)")
            }
            return .allowed
        case .certificate(let commonName)?:
            guard let expected = info?.certificateCommonName else {
                return .denied(reason: "endpoint \(endpoint) has no certificate credentials (certificate CN \(commonName))")
            }
            guard expected == commonName else {
                return .denied(reason: "certificate CN \(commonName) does not belong to endpoint \(endpoint)")
            }
            return .allowed
        }
    }
}

/// Why security information was refused by a store or a security file. Compared by ``code`` only.
public struct LwM2MSecurityError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure (an open set).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name.
        public let name: String

        /// The file could not be read.
        public static let unreadable = Code(name: "unreadable")
        /// The text is not JSON.
        public static let invalidJSON = Code(name: "invalidJSON")
        /// A required field is absent.
        public static let missingField = Code(name: "missingField")
        /// A field has the wrong JSON type.
        public static let wrongType = Code(name: "wrongType")
        /// A field name is not part of the format.
        public static let unknownField = Code(name: "unknownField")
        /// A field's value is not acceptable (empty name, bad hex key, ...).
        public static let invalidValue = Code(name: "invalidValue")
        /// A PSK identity is already used by another endpoint.
        public static let duplicateIdentity = Code(name: "duplicateIdentity")

        /// The code's name.
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// The dotted path of the offending field, e.g. `endpoints.dev1.psk.key` (empty for the whole input).
    public var field: String
    /// What is wrong.
    public var reason: String

    /// Creates an error.
    public init(code: Code, field: String, reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    /// Compares by code only.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// `bad security information: <field>: <reason>`.
    public var description: String {
        "bad security information: " + (field.isEmpty ? "" : "\(field): ") + reason
    }
}

/// An in-memory ``LwM2MSecurityStore``: two hash maps (by endpoint and by PSK identity) behind a lock, so it can
/// be read from event loops and changed at run time.
public final class LwM2MInMemorySecurityStore: LwM2MSecurityStore {
    private struct Tables {
        var byEndpoint: [String: LwM2MSecurityInfo] = [:]
        var endpointByIdentity: [String: String] = [:]
    }

    private let tables = Mutex(Tables())
    /// Whether endpoints without security information may use NoSec.
    public let noSecForUnknownEndpoints: Bool

    /// Creates a store holding `infos`; throws when two endpoints share a PSK identity.
    public init(_ infos: [LwM2MSecurityInfo] = [], noSecForUnknownEndpoints: Bool = true) throws(LwM2MSecurityError) {
        self.noSecForUnknownEndpoints = noSecForUnknownEndpoints
        for info in infos { try add(info) }
    }

    /// Adds or replaces the information of `info.endpoint`; throws when its PSK identity belongs to another
    /// endpoint.
    public func add(_ info: LwM2MSecurityInfo) throws(LwM2MSecurityError) {
        let result: Result<Void, LwM2MSecurityError> = tables.withLock { t in
            if let identity = info.psk?.identity, let owner = t.endpointByIdentity[identity], owner != info.endpoint {
                return .failure(
                    LwM2MSecurityError(
                        code: .duplicateIdentity, field: "\(info.endpoint).psk.identity",
                        reason: "PSK identity \(identity) is already used by endpoint \(owner)"))
            }
            if let old = t.byEndpoint[info.endpoint]?.psk?.identity { t.endpointByIdentity[old] = nil }
            t.byEndpoint[info.endpoint] = info
            if let identity = info.psk?.identity { t.endpointByIdentity[identity] = info.endpoint }
            return .success(())
        }
        try result.get()
    }

    /// Removes the information of `endpoint`; returns it.
    @discardableResult
    public func remove(endpoint: String) -> LwM2MSecurityInfo? {
        tables.withLock { t in
            guard let removed = t.byEndpoint.removeValue(forKey: endpoint) else { return nil }
            if let identity = removed.psk?.identity { t.endpointByIdentity[identity] = nil }
            return removed
        }
    }

    /// Every entry, sorted by endpoint name.
    public func all() -> [LwM2MSecurityInfo] {
        tables.withLock { t in t.byEndpoint.values.sorted { $0.endpoint < $1.endpoint } }
    }

    /// The information of `endpoint`.
    public func securityInfo(endpoint: String) -> LwM2MSecurityInfo? {
        tables.withLock { t in t.byEndpoint[endpoint] }
    }

    /// The information whose PSK identity is `pskIdentity`.
    public func securityInfo(pskIdentity: String) -> LwM2MSecurityInfo? {
        tables.withLock { t in t.endpointByIdentity[pskIdentity].flatMap { t.byEndpoint[$0] } }
    }
}
