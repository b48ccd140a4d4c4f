public import CoAPCore
public import NIOCore

/// The LwM2M enabler version a client registers with (the `lwm2m=` Register parameter).
public enum LwM2MEnablerVersion: String, Sendable, Hashable, CaseIterable {
    /// LwM2M 1.0 (queue mode is the `Q` in `b=UQ`; no object versions in the Register payload).
    case v1_0 = "1.0"
    /// LwM2M 1.1 (queue mode is a separate `Q` parameter; `ver=` on objects whose version is not 1.0).
    case v1_1 = "1.1"
}

/// How the registration engine registers with one LwM2M server and keeps the registration alive.
public struct LwM2MRegistrationConfiguration: Sendable, Hashable {
    /// The endpoint client name (`ep=`).
    public var endpointName: String
    /// The registration lifetime in seconds (`lt=`).
    public var lifetime: UInt32
    /// The enabler version (`lwm2m=`).
    public var version: LwM2MEnablerVersion
    /// The transport binding without the queue flag, normally `U`.
    public var binding: String
    /// Whether the client registers in queue mode and stops listening after `queueModeAwakeTime`.
    public var queueMode: Bool
    /// Zephyr's `CONFIG_LWM2M_UPDATE_PERIOD`: the longest the client stays without an Update (`nil`: only
    /// the lifetime counts).
    public var updatePeriod: TimeAmount?
    /// Zephyr's `CONFIG_LWM2M_SECONDS_TO_UPDATE_EARLY`: the margin before the lifetime expires at which the
    /// Update goes out (half the lifetime when the lifetime is shorter than twice the margin).
    public var secondsToUpdateEarly: UInt32
    /// The shortest interval between two registration messages (Zephyr's 15 s flood guard).
    public var minimumUpdateInterval: TimeAmount
    /// The first retry delay after a failed Register; it doubles after each failure.
    public var initialRetryDelay: TimeAmount
    /// The longest retry delay.
    public var maximumRetryDelay: TimeAmount
    /// Consecutive failed Register attempts after which the engine stops with `NETWORK_ERROR`.
    public var maximumRegistrationAttempts: Int
    /// Queue mode: how long the client listens after its last exchange (the spec's default is
    /// MAX_TRANSMIT_WAIT, 93 s).
    public var queueModeAwakeTime: TimeAmount

    /// Creates a configuration.
    public init(
        endpointName: String, lifetime: UInt32 = 86_400, version: LwM2MEnablerVersion = .v1_1,
        binding: String = "U", queueMode: Bool = false, updatePeriod: TimeAmount? = nil,
        secondsToUpdateEarly: UInt32 = 10, minimumUpdateInterval: TimeAmount = .seconds(15),
        initialRetryDelay: TimeAmount = .seconds(10), maximumRetryDelay: TimeAmount = .seconds(600),
        maximumRegistrationAttempts: Int = 5, queueModeAwakeTime: TimeAmount = .seconds(93)
    ) {
        self.endpointName = endpointName
        self.lifetime = lifetime
        self.version = version
        self.binding = binding
        self.queueMode = queueMode
        self.updatePeriod = updatePeriod
        self.secondsToUpdateEarly = secondsToUpdateEarly
        self.minimumUpdateInterval = minimumUpdateInterval
        self.initialRetryDelay = initialRetryDelay
        self.maximumRetryDelay = maximumRetryDelay
        self.maximumRegistrationAttempts = maximumRegistrationAttempts
        self.queueModeAwakeTime = queueModeAwakeTime
    }
}

/// The registration engine for one server as a pure state machine (LwM2M Core TS 6.2 Client Registration
/// Interface): feed it commands, request outcomes and time; it returns what to send, which events to emit
/// and when it next needs to run (`nextDeadline`). Several servers use one state machine each.
public struct LwM2MRegistrationStateMachine: Sendable {
    /// The registration requests the engine asks its driver to send; `id` comes back with the outcome.
    public enum Request: Sendable, Hashable {
        /// `POST /rd?<query>` with the object list as link format.
        case register(id: UInt64, query: [String])
        /// `POST /<location>?<query>`, with the object list when `includesObjects`.
        case update(id: UInt64, location: [String], query: [String], includesObjects: Bool)
        /// `DELETE /<location>`.
        case deregister(id: UInt64, location: [String])

        /// The request identifier.
        public var id: UInt64 {
            switch self {
            case .register(let id, _), .update(let id, _, _, _), .deregister(let id, _): return id
            }
        }
    }

    /// What the driver must do.
    public enum Action: Sendable, Hashable {
        /// Send a registration request and report its outcome with `receive(_:for:now:)`.
        case send(Request)
        /// Publish an event to the application.
        case emit(LwM2MRDClientEvent)
        /// Queue mode: start (`true`) or stop (`false`) listening for requests from the server.
        case setReceiving(Bool)
    }

    /// The outcome of a registration request.
    public enum Outcome: Sendable, Hashable {
        /// A 2.xx answer; for Register, the Location-Path of the registration.
        case success(location: [String])
        /// An error answer (4.xx/5.xx) or an unusable one.
        case rejected(CoAPCode)
        /// No answer (transmission timeout, reset, transport error).
        case timeout
    }

    /// A coarse view of the engine's state.
    public enum Status: Sendable, Hashable {
        /// Not started, or stopped.
        case idle
        /// Waiting for the retry delay before registering again.
        case waitingToRegister
        /// A Register is in flight.
        case registering
        /// Registered and idle.
        case registered
        /// An Update is in flight.
        case updating
        /// A De-register is in flight.
        case deregistering
        /// Disabled by the server until the disable period ends.
        case disabled
        /// Paused by the application.
        case suspended
        /// Gave up after too many failures.
        case networkError
    }

    private enum AfterDeregistration: Sendable, Hashable {
        case stop
        case disable(TimeAmount)
    }

    private enum Phase: Sendable, Hashable {
        case idle
        case waitingToRegister(at: NIODeadline)
        case registering(UInt64)
        case registered
        case updating(UInt64, sentQuery: [String], sentObjects: Bool)
        case deregistering(UInt64, then: AfterDeregistration)
        case disabled(until: NIODeadline)
        case suspended(wasRegistered: Bool)
        case networkError
    }

    /// The configuration (change the lifetime with `setLifetime(_:now:)`).
    public private(set) var configuration: LwM2MRegistrationConfiguration
    private var phase: Phase = .idle
    /// The registration's location (`["rd", "5a3f"]`) while registered.
    public private(set) var location: [String]?
    /// When the registration expires at the server unless updated.
    public private(set) var expiry: NIODeadline?
    /// When the next periodic Update is due.
    public private(set) var updateDue: NIODeadline?
    /// Where the period of the Update in flight counts from (its scheduled time).
    private var updatePeriodStart: NIODeadline?
    /// Queue mode: when the awake window ends (`nil` when not listening-limited).
    public private(set) var awakeUntil: NIODeadline?
    /// Whether the client currently listens for server requests (always true outside queue mode).
    public private(set) var isReceiving = true
    private var lastRegistrationMessage: NIODeadline?
    private var failures = 0
    private var nextID: UInt64 = 0
    private var lifetimeChanged = false
    private var objectsChanged = false

    /// Creates an idle engine.
    public init(configuration: LwM2MRegistrationConfiguration) {
        self.configuration = configuration
    }

    /// The engine's state.
    public var status: Status {
        switch phase {
        case .idle: return .idle
        case .waitingToRegister: return .waitingToRegister
        case .registering: return .registering
        case .registered: return .registered
        case .updating: return .updating
        case .deregistering: return .deregistering
        case .disabled: return .disabled
        case .suspended: return .suspended
        case .networkError: return .networkError
        }
    }

    /// Whether the server holds a registration (registered, or updating it).
    public var isRegistered: Bool {
        switch phase {
        case .registered, .updating: return true
        default: return false
        }
    }

    /// The next time `advance(to:)` has something to do.
    public var nextDeadline: NIODeadline? {
        switch phase {
        case .waitingToRegister(let at): return at
        case .disabled(let until): return until
        case .registered:
            return [updateDue, isReceiving && configuration.queueMode ? awakeUntil : nil].compactMap { $0 }.min()
        default: return nil
        }
    }

    // MARK: - Commands

    /// Starts the engine: registers now (from idle or after a network error).
    public mutating func start(now: NIODeadline) -> [Action] {
        switch phase {
        case .idle, .networkError:
            failures = 0
            return register(now: now)
        default:
            return []
        }
    }

    /// Stops the engine: de-registers when registered, then emits `DISCONNECT`.
    public mutating func stop(now: NIODeadline) -> [Action] {
        switch phase {
        case .registered, .updating:
            return deregister(then: .stop)
        case .deregistering(let id, _):
            phase = .deregistering(id, then: .stop)
            return []
        case .idle:
            return []
        default:
            reset()
            return [.emit(.disconnect)]
        }
    }

    /// Stops at once without De-register (shell `stop -f`): emits `DISCONNECT` unless already idle.
    public mutating func forceStop() -> [Action] {
        if case .idle = phase { return [] }
        reset()
        return [.emit(.disconnect)]
    }

    /// Asks for a registration Update (shell `update`, `/1/x/8`), no sooner than the flood guard allows.
    public mutating func triggerUpdate(now: NIODeadline) -> [Action] {
        guard case .registered = phase else { return [] }
        updateDue = earliestRegistrationMessage(now: now)
        return advance(to: now)
    }

    /// Changes the lifetime (e.g. a Write to `/1/x/1`) and sends an Update carrying `lt=`.
    public mutating func setLifetime(_ lifetime: UInt32, now: NIODeadline) -> [Action] {
        guard lifetime != configuration.lifetime else { return [] }
        configuration.lifetime = lifetime
        lifetimeChanged = true
        return triggerUpdate(now: now)
    }

    /// Notes that objects or instances were created or deleted: the next Update carries the object list.
    public mutating func objectsDidChange(now: NIODeadline) -> [Action] {
        objectsChanged = true
        return triggerUpdate(now: now)
    }

    /// The server executed Disable: emit `SERVER_DISABLED`, de-register, stay away for `duration`, then
    /// register again.
    public mutating func disable(for duration: TimeAmount, now: NIODeadline) -> [Action] {
        switch phase {
        case .registered, .updating:
            return [.emit(.serverDisabled)] + deregister(then: .disable(duration))
        default:
            return []
        }
    }

    /// Pauses the engine: no timers, nothing sent; requests in flight are ignored when they finish.
    public mutating func pause(now: NIODeadline) -> [Action] {
        switch phase {
        case .suspended, .idle, .networkError: return []
        default:
            let registered = isRegistered && (expiry.map { now < $0 } ?? false)
            phase = .suspended(wasRegistered: registered)
            return [.emit(.engineSuspended)]
        }
    }

    /// Resumes a paused engine: an Update when the registration is still alive, a Register otherwise.
    public mutating func resume(now: NIODeadline) -> [Action] {
        guard case .suspended(let wasRegistered) = phase else { return [] }
        if wasRegistered, let expiry, now < expiry {
            phase = .registered
            return sendUpdate(now: now)
        }
        location = nil
        return register(now: now)
    }

    /// Queue mode: the client has data to send (a notification, a Send). When it no longer listens, it
    /// sends an Update first (which reopens the awake window); otherwise the awake window restarts.
    public mutating func wakeForSending(now: NIODeadline) -> [Action] {
        guard configuration.queueMode, case .registered = phase else { return [] }
        if !isReceiving { return sendUpdate(now: now) }
        awakeUntil = now + configuration.queueModeAwakeTime
        return []
    }

    /// Queue mode: a request from the server arrived while listening; the awake window restarts.
    public mutating func serverActivity(now: NIODeadline) {
        guard configuration.queueMode, isReceiving, case .registered = phase else { return }
        awakeUntil = now + configuration.queueModeAwakeTime
    }

    // MARK: - Outcomes and time

    /// Feeds the outcome of the request `id`; outcomes of requests the engine no longer waits for are ignored.
    public mutating func receive(_ outcome: Outcome, for id: UInt64, now: NIODeadline) -> [Action] {
        switch phase {
        case .registering(let current) where current == id:
            switch outcome {
            case .success(let location) where !location.isEmpty:
                self.location = location
                failures = 0
                return registrationSucceeded(now: now, event: .registrationComplete)
            case .success:
                return registrationFailed(now: now, event: .registrationFailure)
            case .rejected:
                return registrationFailed(now: now, event: .registrationFailure)
            case .timeout:
                return registrationFailed(now: now, event: .registrationTimeout)
            }
        case .updating(let current, let query, let objects) where current == id:
            switch outcome {
            case .success:
                if query.contains(where: { $0.hasPrefix("lt=") }) { lifetimeChanged = false }
                if objects { objectsChanged = false }
                return registrationSucceeded(now: now, event: .registrationUpdateComplete)
            case .rejected:
                // The server no longer knows the registration (Core TS 6.2.2: register again).
                location = nil
                return [.emit(.registrationFailure)] + register(now: now)
            case .timeout:
                location = nil
                return [.emit(.registrationTimeout)] + register(now: now)
            }
        case .deregistering(let current, let then) where current == id:
            var actions: [Action] = []
            if case .success = outcome {} else { actions.append(.emit(.deregisterFailure)) }
            reset()
            switch then {
            case .stop:
                actions.append(.emit(.disconnect))
            case .disable(let duration):
                phase = .disabled(until: now + duration)
            }
            return actions
        default:
            return []
        }
    }

    /// Runs what is due at `now`: retries, periodic Updates, the end of a disable period or awake window.
    public mutating func advance(to now: NIODeadline) -> [Action] {
        switch phase {
        case .waitingToRegister(let at) where at <= now:
            return register(now: now)
        case .disabled(let until) where until <= now:
            failures = 0
            return register(now: now)
        case .registered:
            if let due = updateDue, due <= now {
                // The next period counts from this deadline, not from a late timer's firing (no drift); after
                // a stall longer than the interval it counts from now (no burst of catch-up Updates).
                return sendUpdate(now: now, scheduled: now - due < updateInterval ? due : now)
            }
            if configuration.queueMode, isReceiving, let awake = awakeUntil, awake <= now {
                isReceiving = false
                awakeUntil = nil
                return [.setReceiving(false), .emit(.queueModeRxOff)]
            }
            return []
        default:
            return []
        }
    }

    // MARK: - Internals

    private mutating func makeID() -> UInt64 {
        nextID += 1
        return nextID
    }

    private mutating func reset() {
        phase = .idle
        location = nil
        expiry = nil
        updateDue = nil
        awakeUntil = nil
    }

    /// The Register query (Core TS 6.2.1 / 1.1.1 Table 6.2.1.1-1).
    public var registerQuery: [String] {
        var query = ["ep=\(configuration.endpointName)", "lt=\(configuration.lifetime)", "lwm2m=\(configuration.version.rawValue)"]
        switch (configuration.version, configuration.queueMode) {
        case (.v1_0, true): query.append("b=\(configuration.binding)Q")
        case (.v1_1, true): query += ["b=\(configuration.binding)", "Q"]
        case (_, false): query.append("b=\(configuration.binding)")
        }
        return query
    }

    private mutating func register(now: NIODeadline) -> [Action] {
        let id = makeID()
        phase = .registering(id)
        location = nil
        lastRegistrationMessage = now
        updatePeriodStart = nil
        lifetimeChanged = false
        objectsChanged = false
        var actions: [Action] = []
        if !isReceiving {
            isReceiving = true
            actions.append(.setReceiving(true))
        }
        actions.append(.send(.register(id: id, query: registerQuery)))
        return actions
    }

    private mutating func sendUpdate(now: NIODeadline, scheduled: NIODeadline? = nil) -> [Action] {
        guard let location else { return register(now: now) }
        let id = makeID()
        updatePeriodStart = scheduled ?? now
        let query = lifetimeChanged ? ["lt=\(configuration.lifetime)"] : []
        phase = .updating(id, sentQuery: query, sentObjects: objectsChanged)
        lastRegistrationMessage = now
        updateDue = nil
        var actions: [Action] = []
        if !isReceiving {
            isReceiving = true
            actions.append(.setReceiving(true))
        }
        actions.append(.send(.update(id: id, location: location, query: query, includesObjects: objectsChanged)))
        return actions
    }

    private mutating func deregister(then: AfterDeregistration) -> [Action] {
        guard let location else {
            reset()
            return then == .stop ? [.emit(.disconnect)] : []
        }
        let id = makeID()
        phase = .deregistering(id, then: then)
        updateDue = nil
        return [.send(.deregister(id: id, location: location))]
    }

    private func earliestRegistrationMessage(now: NIODeadline) -> NIODeadline {
        guard let last = lastRegistrationMessage else { return now }
        return max(now, last + configuration.minimumUpdateInterval)
    }

    /// The interval between a successful Register/Update and the next Update.
    public var updateInterval: TimeAmount {
        let lifetime = Int64(configuration.lifetime)
        let early = Int64(configuration.secondsToUpdateEarly)
        var interval: TimeAmount = lifetime > 2 * early ? .seconds(lifetime - early) : .milliseconds(lifetime * 500)
        if let period = configuration.updatePeriod, period < interval { interval = period }
        return max(interval, configuration.minimumUpdateInterval)
    }

    private mutating func registrationSucceeded(now: NIODeadline, event: LwM2MRDClientEvent) -> [Action] {
        phase = .registered
        expiry = now + .seconds(Int64(configuration.lifetime))
        // From the scheduled time of this Update (or the Register/triggered Update's sending), but never sooner
        // than the flood guard allows after the message actually sent.
        let start = updatePeriodStart ?? lastRegistrationMessage ?? now
        updatePeriodStart = nil
        updateDue = max(start + updateInterval, earliestRegistrationMessage(now: now))
        var actions: [Action] = [.emit(event)]
        if configuration.queueMode { awakeUntil = now + configuration.queueModeAwakeTime }
        // Changes that arrived while the request was in flight go out in the next Update.
        if lifetimeChanged || objectsChanged {
            updateDue = earliestRegistrationMessage(now: now)
            actions += advance(to: now)
        }
        return actions
    }

    private mutating func registrationFailed(now: NIODeadline, event: LwM2MRDClientEvent) -> [Action] {
        failures += 1
        location = nil
        if failures >= configuration.maximumRegistrationAttempts {
            phase = .networkError
            return [.emit(event), .emit(.networkError)]
        }
        var delay = configuration.initialRetryDelay
        for _ in 1..<failures where delay < configuration.maximumRetryDelay { delay = delay + delay }
        phase = .waitingToRegister(at: now + min(delay, configuration.maximumRetryDelay))
        return [.emit(event)]
    }
}
