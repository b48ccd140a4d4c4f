public import CoAPCore
public import Codecs
public import NIOCore

/// How the client bootstraps (client-initiated bootstrap, LwM2M Core TS 1.1.1 5.2.7.2 / 6.1.7).
public struct LwM2MClientBootstrapConfiguration: Sendable, Hashable {
    /// The endpoint client name (`ep=` of the Bootstrap-Request).
    public var endpointName: String
    /// The enabler version; 1.1 sends `pct=` and answers Bootstrap-Discover with `lwm2m=1.1`.
    public var version: LwM2MEnablerVersion
    /// The preferred content format for the bootstrap server's writes and reads (`pct=`, LwM2M 1.1 only;
    /// nil sends none).
    public var preferredFormat: LwM2MContentFormat?
    /// How long after the Bootstrap-Request was accepted the bootstrap server has to send an acceptable
    /// Bootstrap-Finish; after that the attempt failed (`BOOTSTRAP_REG_FAILURE`) and is retried.
    public var sessionTimeout: TimeAmount
    /// The Client Hold Off Time: the wait before the first Bootstrap-Request (Security /0/x/11).
    public var holdOff: TimeAmount
    /// The first retry delay after a failed attempt; it doubles after each failure.
    public var initialRetryDelay: TimeAmount
    /// The longest retry delay.
    public var maximumRetryDelay: TimeAmount
    /// Failed attempts in a row after which the client gives up with `NETWORK_ERROR`.
    public var maximumAttempts: Int

    /// Creates a configuration. The session timeout defaults to EXCHANGE_LIFETIME (247 s).
    public init(
        endpointName: String, version: LwM2MEnablerVersion = .v1_1, preferredFormat: LwM2MContentFormat? = .senmlCBOR,
        sessionTimeout: TimeAmount = .seconds(247), holdOff: TimeAmount = .zero, initialRetryDelay: TimeAmount = .seconds(10),
        maximumRetryDelay: TimeAmount = .seconds(600), maximumAttempts: Int = 5
    ) {
        self.endpointName = endpointName
        self.version = version
        self.preferredFormat = preferredFormat
        self.sessionTimeout = sessionTimeout
        self.holdOff = holdOff
        self.initialRetryDelay = initialRetryDelay
        self.maximumRetryDelay = maximumRetryDelay
        self.maximumAttempts = maximumAttempts
    }

    /// The Uri-Query of the Bootstrap-Request: `ep=NAME`, plus `pct=N` for LwM2M 1.1 with a preferred format.
    public var requestQuery: [String] {
        var query = ["ep=\(endpointName)"]
        if version == .v1_1, let preferredFormat { query.append("pct=\(preferredFormat.rawValue)") }
        return query
    }
}

/// The client's bootstrap lifecycle as a pure state machine on a clock: Bootstrap-Request, the bootstrap
/// session until Bootstrap-Finish, the whole-session timeout and the retries with back-off. It emits
/// Zephyr's `BOOTSTRAP_REG_COMPLETE` (request accepted), `BOOTSTRAP_REG_FAILURE` (request rejected or
/// unanswered, or no acceptable Finish in time), `BOOTSTRAP_TRANSFER_COMPLETE` (Finish accepted) and
/// `NETWORK_ERROR` (gave up). The operations of the session itself are `LwM2MObjectTree`'s `bootstrap...`
/// functions; the driver is `LwM2MBootstrapClient`.
public struct LwM2MClientBootstrapStateMachine: Sendable {
    /// What the driver must do.
    public enum Action: Sendable, Hashable {
        /// Send the Bootstrap-Request (`POST /bs?<query>`) and report its outcome with `receive(_:for:now:)`.
        case sendRequest(id: UInt64, query: [String])
        /// Publish an event.
        case emit(LwM2MRDClientEvent)
        /// Bootstrap finished: register with the accounts now in the object tree.
        case completed
        /// The client gave up after `maximumAttempts` failures.
        case gaveUp
    }

    /// The outcome of the Bootstrap-Request.
    public enum Outcome: Sendable, Hashable {
        /// 2.04 Changed.
        case accepted
        /// An error response.
        case rejected(CoAPCode)
        /// No response (timeout, reset, transport error).
        case timeout
    }

    /// Where the client is.
    public enum Status: Sendable, Hashable {
        /// Not bootstrapping.
        case idle
        /// Waiting (hold off or retry delay) before the next Bootstrap-Request.
        case waiting
        /// The Bootstrap-Request is in flight (the bootstrap server may already send its operations).
        case requesting
        /// The bootstrap server is configuring the client; waiting for Bootstrap-Finish.
        case bootstrapping
        /// Bootstrap-Finish was accepted.
        case finished
        /// Gave up after too many failures.
        case failed
    }

    private enum Phase: Sendable, Hashable {
        case idle
        case waiting(until: NIODeadline)
        case requesting(id: UInt64, deadline: NIODeadline)
        case bootstrapping(deadline: NIODeadline)
        case finished
        case failed
    }

    /// The configuration.
    public let configuration: LwM2MClientBootstrapConfiguration
    private var phase: Phase = .idle
    private var failures = 0
    private var nextID: UInt64 = 0

    /// Creates an idle state machine.
    public init(configuration: LwM2MClientBootstrapConfiguration) {
        self.configuration = configuration
    }

    /// The status.
    public var status: Status {
        switch phase {
        case .idle: return .idle
        case .waiting: return .waiting
        case .requesting: return .requesting
        case .bootstrapping: return .bootstrapping
        case .finished: return .finished
        case .failed: return .failed
        }
    }

    /// Whether the bootstrap server's operations are accepted now: from the Bootstrap-Request until
    /// Bootstrap-Finish is accepted (the first operation may overtake the request's response).
    public var acceptsBootstrapOperations: Bool {
        switch phase {
        case .requesting, .bootstrapping: return true
        default: return false
        }
    }

    /// When `advance(to:)` must run next.
    public var nextDeadline: NIODeadline? {
        switch phase {
        case .waiting(let at): return at
        case .requesting(_, let deadline), .bootstrapping(let deadline): return deadline
        default: return nil
        }
    }

    /// Starts (or restarts) bootstrapping: the Bootstrap-Request goes out after the hold-off time (`holdOff`,
    /// e.g. the bootstrap account's Client Hold Off Time /0/x/11, or the configuration's).
    public mutating func start(now: NIODeadline, holdOff: TimeAmount? = nil) -> [Action] {
        failures = 0
        let holdOff = holdOff ?? configuration.holdOff
        if holdOff > .zero {
            phase = .waiting(until: now + holdOff)
            return []
        }
        return request(now: now)
    }

    /// Stops bootstrapping; nothing more is sent or accepted.
    public mutating func stop() {
        phase = .idle
    }

    /// Feeds the outcome of the Bootstrap-Request `id`.
    public mutating func receive(_ outcome: Outcome, for id: UInt64, now: NIODeadline) -> [Action] {
        guard case .requesting(let current, let deadline) = phase, current == id else { return [] }
        switch outcome {
        case .accepted:
            phase = .bootstrapping(deadline: deadline)
            return [.emit(.bootstrapRegistrationComplete)]
        case .rejected, .timeout:
            return fail(now: now)
        }
    }

    /// The bootstrap server sent an operation (other than Finish) that the client served: if the request's
    /// response has not arrived yet, the session has evidently started.
    public mutating func operationReceived(now: NIODeadline) -> [Action] {
        guard case .requesting(_, let deadline) = phase else { return [] }
        phase = .bootstrapping(deadline: deadline)
        return [.emit(.bootstrapRegistrationComplete)]
    }

    /// Bootstrap-Finish arrived; `accepted` is the result of the consistency check (answered 2.04, otherwise
    /// 4.06 and the client stays in bootstrap until the session timeout).
    public mutating func finishReceived(accepted: Bool, now: NIODeadline) -> [Action] {
        guard acceptsBootstrapOperations else { return [] }
        var actions = operationReceived(now: now)
        guard accepted else { return actions }
        phase = .finished
        failures = 0
        actions += [.emit(.bootstrapTransferComplete), .completed]
        return actions
    }

    /// Runs the timers due at `now`.
    public mutating func advance(to now: NIODeadline) -> [Action] {
        switch phase {
        case .waiting(let at) where now >= at:
            return request(now: now)
        case .requesting(_, let deadline) where now >= deadline:
            return fail(now: now)
        case .bootstrapping(let deadline) where now >= deadline:
            return fail(now: now)
        default:
            return []
        }
    }

    private mutating func request(now: NIODeadline) -> [Action] {
        nextID += 1
        phase = .requesting(id: nextID, deadline: now + configuration.sessionTimeout)
        return [.sendRequest(id: nextID, query: configuration.requestQuery)]
    }

    private mutating func fail(now: NIODeadline) -> [Action] {
        failures += 1
        if failures >= configuration.maximumAttempts {
            phase = .failed
            return [.emit(.bootstrapRegistrationFailure), .emit(.networkError), .gaveUp]
        }
        var delay = configuration.initialRetryDelay
        for _ in 1..<failures {
            delay = delay + delay
            if delay >= configuration.maximumRetryDelay { break }
        }
        phase = .waiting(until: now + min(delay, configuration.maximumRetryDelay))
        return [.emit(.bootstrapRegistrationFailure)]
    }
}
