public import NIOCore

/// Where registrations live. Every lookup the server does per message (endpoint name, registration ID, peer
/// address) must be O(1) or O(log n) in the number of registrations.
///
/// The in-memory store is the default; a persistent embedded store or a store shared by several server
/// processes implements the same protocol (a shared one typically fronts its database with this interface's
/// synchronous view and writes through).
public protocol RegistrationStore {
    /// The number of registrations.
    var count: Int { get }
    /// The registration with `id`.
    func registration(id: String) -> Registration?
    /// The registration of endpoint `endpoint`.
    func registration(endpoint: String) -> Registration?
    /// The registration whose client last talked from `address`.
    func registration(address: SocketAddress) -> Registration?
    /// Adds or replaces (by ID) a registration; returns the registration it replaced for the same *endpoint*
    /// with a different ID, which the store has removed.
    mutating func put(_ registration: Registration) -> Registration?
    /// Removes the registration with `id` and returns it.
    mutating func remove(id: String) -> Registration?
    /// Every registration, in no particular order.
    func all() -> [Registration]
}

/// A `RegistrationStore` in memory: dictionaries by ID, endpoint name and peer address.
public struct InMemoryRegistrationStore: RegistrationStore, Sendable {
    private var byID: [String: Registration] = [:]
    private var idByEndpoint: [String: String] = [:]
    private var idByAddress: [SocketAddress: String] = [:]

    /// Creates an empty store.
    public init() {}

    public var count: Int { byID.count }

    public func registration(id: String) -> Registration? { byID[id] }

    public func registration(endpoint: String) -> Registration? { idByEndpoint[endpoint].flatMap { byID[$0] } }

    public func registration(address: SocketAddress) -> Registration? { idByAddress[address].flatMap { byID[$0] } }

    public mutating func put(_ registration: Registration) -> Registration? {
        var replaced: Registration?
        if let otherID = idByEndpoint[registration.endpoint], otherID != registration.id {
            replaced = remove(id: otherID)
        }
        if let old = byID.updateValue(registration, forKey: registration.id), old.address != registration.address,
            idByAddress[old.address] == registration.id
        {
            idByAddress[old.address] = nil
        }
        idByEndpoint[registration.endpoint] = registration.id
        idByAddress[registration.address] = registration.id
        return replaced
    }

    public mutating func remove(id: String) -> Registration? {
        guard let old = byID.removeValue(forKey: id) else { return nil }
        if idByEndpoint[old.endpoint] == id { idByEndpoint[old.endpoint] = nil }
        if idByAddress[old.address] == id { idByAddress[old.address] = nil }
        return old
    }

    public func all() -> [Registration] { Array(byID.values) }
}
