public import NIOCore

/// The server side of observe (RFC 7641 section 4): the observers of each resource, keyed by peer and token.
///
/// Registers an observer on a GET (or FETCH) with Observe = 0, removes it on Observe = 1, on an RST to one of
/// its notifications or when a confirmable notification times out, and numbers notifications with increasing
/// 24-bit sequence values per resource. A notification goes confirmable when the application asks, and at
/// least every `confirmableInterval` and every `confirmableEvery` notifications otherwise (section 4.5), so a
/// vanished client is noticed. Every lookup is O(1); a notification costs O(observers of the resource).
public struct CoAPObserverRegistry<Peer: Hashable & Sendable, Resource: Hashable & Sendable>: Sendable {
    /// Limits and notification timing.
    public struct Configuration: Sendable {
        /// The longest time between two confirmable notifications to one observer.
        public var confirmableInterval: TimeAmount
        /// Every this many notifications to one observer, one is confirmable (1 = all of them).
        public var confirmableEvery: Int
        /// The most observers held; further registrations are refused (answered without Observe).
        public var maxObservers: Int
        /// Whether an observer has at most one notification in flight (RFC 7641 section 4.5.2): changes while
        /// one is being sent collapse into a single later notification of the newest state, handed out by
        /// `completed(_:)`. Off, every change yields a notification at once.
        public var coalescesInFlight: Bool

        /// Creates a configuration.
        public init(
            confirmableInterval: TimeAmount = .hours(24), confirmableEvery: Int = 20, maxObservers: Int = 100_000,
            coalescesInFlight: Bool = false
        ) {
            self.confirmableInterval = confirmableInterval
            self.confirmableEvery = Swift.max(1, confirmableEvery)
            self.maxObservers = maxObservers
            self.coalescesInFlight = coalescesInFlight
        }
    }

    /// An observer's identity: the peer and the token of its registration.
    public struct ObserverKey: Hashable, Sendable {
        /// The observing peer.
        public var peer: Peer
        /// The registration's token (notifications carry it).
        public var token: CoAPToken

        /// Creates a key.
        public init(peer: Peer, token: CoAPToken) {
            self.peer = peer
            self.token = token
        }
    }

    /// One observer.
    public struct Observer: Sendable {
        /// Who and which token.
        public var key: ObserverKey
        /// The observed resource.
        public var resource: Resource
        /// The registration request (its Accept and other options shape the notifications).
        public var request: CoAPMessage
        /// When it registered (or last re-registered).
        public var registeredAt: NIODeadline
        /// When it was last sent a confirmable notification (or registered).
        public var lastConfirmable: NIODeadline
        /// Non-confirmable notifications sent since the last confirmable one.
        public var sinceConfirmable: Int
        /// The message ID of the last notification sent, to match an RST.
        public var lastMessageID: UInt16?
        /// Whether a notification is being sent (with `coalescesInFlight`).
        public var inFlight = false
        /// The newest change waiting for the notification in flight (with `coalescesInFlight`).
        var pending: Notification?
    }

    /// A notification to send: build the response for `request` (the observer's registration), with `sequence`
    /// as Observe value, `key.token` as token and `type`; then report its message ID with `sent(_:messageID:)`.
    public struct Notification: Sendable {
        /// The observer.
        public var key: ObserverKey
        /// The observer's registration request.
        public var request: CoAPMessage
        /// The Observe value.
        public var sequence: UInt32
        /// CON or NON.
        public var type: CoAPMessageType
    }

    /// What a request means for observation (RFC 7641 section 2).
    public enum Intent: Hashable, Sendable {
        /// GET/FETCH with Observe = 0: register (or re-register) when the response is a success.
        case register
        /// GET/FETCH with Observe = 1: deregister.
        case deregister
        /// Anything else.
        case none
    }

    private struct ResourceState: Sendable {
        var observers: Set<ObserverKey> = []
        var sequence: UInt32
    }

    private struct MessageKey: Hashable, Sendable {
        var peer: Peer
        var messageID: UInt16
    }

    /// The configuration.
    public var configuration: Configuration
    private var observers: [ObserverKey: Observer] = [:]
    private var resources: [Resource: ResourceState] = [:]
    private var byMessageID: [MessageKey: ObserverKey] = [:]
    private var sequenceClock: UInt64 = 0

    /// Creates an empty registry.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The number of observers.
    public var count: Int { observers.count }

    /// What `request` asks for.
    public static func intent(of request: CoAPMessage) -> Intent {
        guard request.code == .get || request.code == .fetch, let value = request.observe else { return .none }
        switch value {
        case 0: return .register
        case 1: return .deregister
        default: return .none
        }
    }

    /// The observer with `peer` and `token`, if any.
    public func observer(peer: Peer, token: CoAPToken) -> Observer? {
        observers[ObserverKey(peer: peer, token: token)]
    }

    /// The observers of `resource`.
    public func observers(of resource: Resource) -> [Observer] {
        resources[resource]?.observers.compactMap { observers[$0] } ?? []
    }

    /// Adds (or, for the same peer and token, replaces) an observer of `resource` after a successful response to
    /// its registration; returns the Observe value for that response, or `nil` when the registry is full
    /// (answer without Observe: the client then knows it is not observing).
    public mutating func register(
        _ request: CoAPMessage, from peer: Peer, resource: Resource, now: NIODeadline
    ) -> UInt32? {
        let key = ObserverKey(peer: peer, token: request.token)
        if let existing = observers[key], existing.resource != resource {
            deregister(peer: peer, token: request.token)
        }
        guard observers[key] != nil || observers.count < configuration.maxObservers else { return nil }
        let sequence = advance(resource)
        resources[resource]!.observers.insert(key)
        let previous = observers[key]
        var observer = Observer(
            key: key, resource: resource, request: request, registeredAt: now, lastConfirmable: now,
            sinceConfirmable: 0, lastMessageID: previous?.lastMessageID)
        observer.inFlight = previous?.inFlight ?? false  // a notification may still be on its way
        observers[key] = observer
        return sequence
    }

    /// Removes the observer with `peer` and `token` (an Observe = 1 request, or the application's decision);
    /// returns it.
    @discardableResult
    public mutating func deregister(peer: Peer, token: CoAPToken) -> Observer? {
        let key = ObserverKey(peer: peer, token: token)
        guard let observer = observers.removeValue(forKey: key) else { return nil }
        if let mid = observer.lastMessageID { byMessageID[MessageKey(peer: peer, messageID: mid)] = nil }
        resources[observer.resource]?.observers.remove(key)
        if resources[observer.resource]?.observers.isEmpty == true { resources[observer.resource] = nil }
        return observer
    }

    /// Produces the notifications for a change of `resource`: one per observer, all with the next sequence value.
    /// `confirmable` forces CON for all of them; otherwise the periodic rule decides per observer.
    public mutating func notify(_ resource: Resource, now: NIODeadline, confirmable: Bool = false) -> [Notification] {
        guard let keys = resources[resource]?.observers, !keys.isEmpty else { return [] }
        let sequence = advance(resource)
        var notifications: [Notification] = []
        notifications.reserveCapacity(keys.count)
        for key in keys {
            guard var observer = observers[key] else { continue }
            let con = confirmable || now - observer.lastConfirmable >= configuration.confirmableInterval
                || observer.sinceConfirmable + 1 >= configuration.confirmableEvery
            if con {
                observer.lastConfirmable = now
                observer.sinceConfirmable = 0
            } else {
                observer.sinceConfirmable += 1
            }
            let notification = Notification(
                key: key, request: observer.request, sequence: sequence, type: con ? .confirmable : .nonConfirmable)
            if configuration.coalescesInFlight && observer.inFlight {
                // Keep only the newest state; a confirmable one stays confirmable.
                var newest = notification
                if observer.pending?.type == .confirmable { newest.type = .confirmable }
                observer.pending = newest
                observers[key] = observer
                continue
            }
            observer.inFlight = configuration.coalescesInFlight
            observers[key] = observer
            notifications.append(notification)
        }
        return notifications
    }

    /// With `coalescesInFlight`: the notification to `key` is done (acknowledged, sent, or failed). Returns the
    /// newest change that came in meanwhile, to send next (still in flight), or `nil` (nothing in flight now).
    public mutating func completed(_ key: ObserverKey) -> Notification? {
        guard var observer = observers[key] else { return nil }
        let next = observer.pending
        observer.pending = nil
        observer.inFlight = next != nil
        if var next {
            next.request = observer.request
            observers[key] = observer
            return next
        }
        observers[key] = observer
        return nil
    }

    /// Records the message ID a notification went out with, so an RST to it can be matched.
    public mutating func sent(_ key: ObserverKey, messageID: UInt16) {
        guard var observer = observers[key] else { return }
        if let old = observer.lastMessageID { byMessageID[MessageKey(peer: key.peer, messageID: old)] = nil }
        observer.lastMessageID = messageID
        observers[key] = observer
        byMessageID[MessageKey(peer: key.peer, messageID: messageID)] = key
    }

    /// An RST from `peer` for `messageID`: removes the observer whose last notification it rejects.
    @discardableResult
    public mutating func reset(from peer: Peer, messageID: UInt16) -> Observer? {
        guard let key = byMessageID[MessageKey(peer: peer, messageID: messageID)] else { return nil }
        return deregister(peer: key.peer, token: key.token)
    }

    /// A confirmable notification to `peer` with `token` was never acknowledged: removes the observer.
    @discardableResult
    public mutating func notificationTimedOut(peer: Peer, token: CoAPToken) -> Observer? {
        deregister(peer: peer, token: token)
    }

    /// Removes every observer of `peer`. O(n) in the number of observers.
    public mutating func removeAll(peer: Peer) {
        for key in observers.keys where key.peer == peer { deregister(peer: peer, token: key.token) }
    }

    /// Takes the next 24-bit sequence value of `resource` (creating its state).
    private mutating func advance(_ resource: Resource) -> UInt32 {
        // Every value handed out anywhere moves the registry-wide counter, so a resource observed anew starts
        // above the last value any earlier observation of it used: a client that remembers it does not take
        // the new notifications for stale ones. Per resource, values go up by one per notification.
        sequenceClock &+= 1
        if var state = resources[resource] {
            state.sequence = (state.sequence + 1) & 0xFF_FFFF
            resources[resource] = state
            return state.sequence
        }
        let start = UInt32(truncatingIfNeeded: sequenceClock) & 0xFF_FFFF
        resources[resource] = ResourceState(sequence: start)
        return start
    }
}
