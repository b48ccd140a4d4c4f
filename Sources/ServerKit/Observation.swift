public import CoAPCore
public import LwM2MModel
public import NIOCore

/// An observation relationship the server holds with a client (Observe or Observe-Composite).
public struct Observation: Hashable, Sendable {
    /// The token of the Observe request; notifications carry it.
    public var token: CoAPToken
    /// The registration it belongs to.
    public var registrationID: String
    /// The client's endpoint name.
    public var endpoint: String
    /// What is observed.
    public var target: Target
    /// The content format requested with Accept, if any.
    public var contentFormat: CoAPContentFormat?
    /// When the observation was established.
    public var createdAt: NIODeadline

    /// What an observation watches.
    public enum Target: Hashable, Sendable {
        /// One path (Observe).
        case path(LwM2MPath)
        /// Several paths (Observe-Composite).
        case composite([LwM2MPath])
    }

    /// Creates an observation.
    public init(
        token: CoAPToken,
        registrationID: String,
        endpoint: String,
        target: Target,
        contentFormat: CoAPContentFormat? = nil,
        createdAt: NIODeadline
    ) {
        self.token = token
        self.registrationID = registrationID
        self.endpoint = endpoint
        self.target = target
        self.contentFormat = contentFormat
        self.createdAt = createdAt
    }
}

/// Where observations live: O(1) lookup by token (every notification) and by registration.
public protocol ObservationStore {
    /// The number of observations.
    var count: Int { get }
    /// Adds or replaces (by token) an observation.
    mutating func add(_ observation: Observation)
    /// The observation with `token`.
    func observation(token: CoAPToken) -> Observation?
    /// The observations of registration `registrationID`.
    func observations(registrationID: String) -> [Observation]
    /// Removes the observation with `token` and returns it.
    mutating func remove(token: CoAPToken) -> Observation?
    /// Removes and returns every observation of registration `registrationID`.
    mutating func removeAll(registrationID: String) -> [Observation]
}

/// An `ObservationStore` in memory.
public struct InMemoryObservationStore: ObservationStore, Sendable {
    private var byToken: [CoAPToken: Observation] = [:]
    private var tokensByRegistration: [String: Set<CoAPToken>] = [:]

    /// Creates an empty store.
    public init() {}

    public var count: Int { byToken.count }

    public mutating func add(_ observation: Observation) {
        if let old = byToken.updateValue(observation, forKey: observation.token),
            old.registrationID != observation.registrationID
        {
            tokensByRegistration[old.registrationID]?.remove(old.token)
        }
        tokensByRegistration[observation.registrationID, default: []].insert(observation.token)
    }

    public func observation(token: CoAPToken) -> Observation? { byToken[token] }

    public func observations(registrationID: String) -> [Observation] {
        (tokensByRegistration[registrationID] ?? []).compactMap { byToken[$0] }.sorted { $0.createdAt < $1.createdAt }
    }

    public mutating func remove(token: CoAPToken) -> Observation? {
        guard let old = byToken.removeValue(forKey: token) else { return nil }
        tokensByRegistration[old.registrationID]?.remove(token)
        if tokensByRegistration[old.registrationID]?.isEmpty == true {
            tokensByRegistration[old.registrationID] = nil
        }
        return old
    }

    public mutating func removeAll(registrationID: String) -> [Observation] {
        guard let tokens = tokensByRegistration.removeValue(forKey: registrationID) else { return [] }
        return tokens.compactMap { byToken.removeValue(forKey: $0) }.sorted { $0.createdAt < $1.createdAt }
    }
}
