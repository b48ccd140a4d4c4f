public import NIOCore

/// The client side of one observation (RFC 7641 section 3): checks notifications for freshness, ends the
/// observation when the server does, and cancels it actively (a GET with Observe = 1) or passively (forget it
/// and answer the next notification with RST). A pure state machine: responses and time in, actions out.
public struct CoAPObserveClientStateMachine: Sendable {
    /// Where the observation stands.
    public enum State: Hashable, Sendable {
        /// The registration request is on its way.
        case registering
        /// Notifications are flowing.
        case observing
        /// A deregistration (GET with Observe = 1) was sent; its response ends the observation.
        case cancelling
        /// Ended (by the server, by an active cancel, or passively); later notifications are rejected.
        case finished
    }

    /// What to do with a received response or notification.
    public enum Action: Hashable, Sendable {
        /// A fresh notification: hand it to the application.
        case deliver(CoAPMessage)
        /// A stale or reordered notification (or one arriving while cancelling): drop it silently (a CON one is
        /// still acknowledged by the message layer).
        case drop
        /// The observation is gone on this side: answer with RST so the server removes the observer.
        case reset
        /// The server ended the observation (an error, or a response without Observe); deliver it and finish.
        case finish(CoAPMessage)
    }

    /// The state.
    public private(set) var state: State = .registering
    /// The registration request (a GET or FETCH with Observe = 0).
    public let registrationRequest: CoAPMessage
    private var freshness: CoAPObserveFreshness?

    /// Starts an observation of `request`; Observe is set to 0 (register).
    public init(request: CoAPMessage) {
        var r = request
        r.observe = 0
        self.registrationRequest = r
    }

    /// The ordering state of the observation, once the registration response arrived.
    public var lastFresh: CoAPObserveFreshness? { freshness }

    /// Takes the registration response or a notification (matched to this observation by token).
    public mutating func receive(_ message: CoAPMessage, now: NIODeadline) -> Action {
        switch state {
        case .finished:
            return .reset
        case .cancelling:
            // The answer to the deregistration has no Observe option; notifications still in flight do.
            guard message.observe == nil || !message.code.isSuccess else { return .drop }
            state = .finished
            return .finish(message)
        case .registering, .observing:
            guard message.code.isSuccess, let value = message.observe else {
                state = .finished
                return .finish(message)
            }
            if state == .registering || freshness == nil {
                state = .observing
                freshness = CoAPObserveFreshness(value: value, time: now)
                return .deliver(message)
            }
            return freshness!.accept(value, at: now) ? .deliver(message) : .drop
        }
    }

    /// Cancels actively: returns the GET with Observe = 1 to send (same token and options as the registration,
    /// RFC 7641 section 3.6), or `nil` when the observation already ended.
    public mutating func cancelActively() -> CoAPMessage? {
        guard state == .registering || state == .observing else { return nil }
        state = .cancelling
        var request = registrationRequest
        request.observe = 1
        request.removeOptions(.eTag)
        return request
    }

    /// Cancels passively: forgets the observation; the next notification is answered with RST.
    public mutating func cancelPassively() {
        state = .finished
    }
}
