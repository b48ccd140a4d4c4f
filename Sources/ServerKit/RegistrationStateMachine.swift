public import CoAPCore
import LwM2MModel
public import Logging
public import NIOCore

/// What the registration interface asks its driver to do after an input.
public struct RegistrationOutput: Sendable {
    /// The response to send (`nil` after a timer input).
    public var response: CoAPMessage?
    /// Events for the application.
    public var events: [LwM2MServerEvent]
    /// Observations that ended with a registration (replaced, de-registered, expired). The driver forgets their
    /// tokens, so the client's next notification is answered with RST.
    public var cancelledObservations: [Observation]

    /// Creates an output.
    public init(response: CoAPMessage?, events: [LwM2MServerEvent] = [], cancelledObservations: [Observation] = []) {
        self.response = response
        self.events = events
        self.cancelledObservations = cancelledObservations
    }
}

/// The server side of the LwM2M registration interface (Register, Update, De-register) and the Send operation,
/// as a sans-I/O state machine: CoAP requests and the time in, responses, events and cancelled observations out.
///
/// It owns the registration and observation stores and an O(log n) heap of expiry deadlines; its driver calls
/// `handle(_:from:identity:now:)` for each request to `/rd...` or `/dp` and `expire(now:)` at `nextExpiry`.
public struct RegistrationStateMachine<Registrations: RegistrationStore, Observations: ObservationStore> {
    /// The settings.
    public var configuration: RegistrationConfiguration
    /// The registrations.
    public private(set) var registrations: Registrations
    /// The observations (the driver adds to it when an Observe succeeds).
    public var observations: Observations
    /// Expiry deadlines by registration ID.
    private var expiries = DeadlineHeap<String>()
    /// Register requests per IP address in the current window.
    private var registerCounts: [String: (windowStart: NIODeadline, count: Int)] = [:]
    private var logger: Logger
    private var random = SystemRandomNumberGenerator()

    /// Creates the state machine over the given stores (normally empty; a persistent store's registrations
    /// get their expiry timers here).
    public init(
        configuration: RegistrationConfiguration = .init(),
        registrations: Registrations,
        observations: Observations,
        logger: Logger
    ) {
        self.configuration = configuration
        self.registrations = registrations
        self.observations = observations
        self.logger = logger
        for r in registrations.all() { expiries.schedule(r.id, at: r.expiresAt) }
    }

    /// The earliest moment a registration expires; the driver calls `expire(now:)` then.
    public var nextExpiry: NIODeadline? { expiries.first?.deadline }

    // MARK: Requests

    /// Handles one request to the registration interface (`/rd`, `/rd/<id>`) or Send (`/dp`), and anything
    /// else the driver routes here (answered 4.04).
    public mutating func handle(
        _ request: CoAPMessage,
        from peer: SocketAddress,
        identity: CoAPPeerIdentity? = nil,
        now: NIODeadline
    ) -> RegistrationOutput {
        let path = request.uriPath
        if path.first == configuration.registrationPath {
            switch (request.code, path.count) {
            case (.post, 1): return register(request, from: peer, identity: identity, now: now)
            case (.post, 2): return update(request, id: path[1], from: peer, identity: identity, now: now)
            case (.delete, 2): return deregister(request, id: path[1], from: peer, identity: identity)
            case (_, 1), (_, 2): return reply(request, .methodNotAllowed)
            default: return reply(request, .notFound)
            }
        }
        if path == ["dp"] {
            guard request.code == .post else { return reply(request, .methodNotAllowed) }
            return send(request, from: peer, identity: identity, now: now)
        }
        return reply(request, .notFound)
    }

    private mutating func register(
        _ request: CoAPMessage,
        from peer: SocketAddress,
        identity: CoAPPeerIdentity?,
        now: NIODeadline
    ) -> RegistrationOutput {
        var log = logger
        if log.logLevel <= .warning { log[metadataKey: "peer"] = .string(peer.hostAndPort) }  // built only when logged
        // Flood protection before any parsing or allocation per registration.
        if let limit = configuration.registerRateLimit {
            let host = peer.ipAddress ?? "\(peer)"
            var entry = registerCounts[host] ?? (now, 0)
            if now - entry.windowStart >= configuration.registerRateWindow { entry = (now, 0) }
            entry.count += 1
            if registerCounts.count > 65_536 { pruneRateWindows(now: now) }
            registerCounts[host] = entry
            if entry.count > limit {
                log.info("Register rejected: rate limit", metadata: ["count": "\(entry.count)"])
                var response = makeResponse(request, .serviceUnavailable)
                response.maxAge = UInt32(max(1, configuration.registerRateWindow.nanoseconds / 1_000_000_000))
                return RegistrationOutput(response: response)
            }
        }
        let query: [String: String?]
        switch parseQuery(request.uriQuery) {
        case .success(let q): query = q
        case .failure(let reason):
            log.info("Register rejected: \(reason)")
            return reply(request, .badRequest, diagnostic: "\(reason)")
        }
        // Endpoint name.
        guard let epValue = query["ep"], let endpoint = epValue, !endpoint.isEmpty else {
            log.info("Register rejected: missing endpoint name")
            return reply(request, .badRequest, diagnostic: "missing endpoint name (ep)")
        }
        guard endpoint.utf8.count <= configuration.maxEndpointNameLength,
            !endpoint.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            log.info("Register rejected: bad endpoint name")
            return reply(request, .badRequest, diagnostic: "bad endpoint name")
        }
        if log.logLevel <= .warning { log[metadataKey: "endpoint"] = .string(endpoint) }  // built only when logged
        // Credentials: the DTLS identity must belong to the endpoint; NoSec only where the store allows it.
        if let security = configuration.security,
            case .denied(let reason) = security.authorize(endpoint: endpoint, credential: identity?.securityCredential)
        {
            let credential = identity?.securityCredential.description ?? "no DTLS identity"
            log.warning(
                "Register of \(endpoint) from \(peer.hostAndPort) with \(credential) rejected (4.03): \(reason)")
            return reply(request, .forbidden)
        }
        // A registration made with a DTLS identity is replaced only by that identity (with or without a store):
        // otherwise a NoSec peer, or another identity, could take over a secured endpoint.
        if let existing = registrations.registration(endpoint: endpoint), existing.identity != nil,
            let refusal = identityMismatch(existing, identity, peer: peer, operation: "Register")
        {
            return reply(request, refusal)
        }
        // Version.
        var version = LwM2MVersion.v1_0
        if let v = query["lwm2m"] {
            guard let v, let parsed = LwM2MVersion(v) else {
                log.info("Register rejected: bad lwm2m version")
                return reply(request, .badRequest, diagnostic: "bad lwm2m version")
            }
            guard configuration.supportedVersions.contains(parsed) else {
                log.info("Register rejected: unsupported LwM2M version \(parsed)")
                return reply(request, .preconditionFailed, diagnostic: "unsupported LwM2M version \(parsed)")
            }
            version = parsed
        }
        var lifetime = configuration.defaultLifetime
        var binding = LwM2MBinding.udp
        var queueMode = false
        var sms: String?
        switch parseCommonParameters(query, lifetime: &lifetime, binding: &binding, queueMode: &queueMode, sms: &sms) {
        case nil: break
        case let reason?:
            log.info("Register rejected: \(reason)")
            return reply(request, .badRequest, diagnostic: "\(reason)")
        }
        // Payload.
        let tree: RegistrationObjectTree
        let links: [RegistrationLink]
        switch parsePayload(request) {
        case .success(let parsed): (links, tree) = parsed
        case .failure(let failure):
            log.info("Register rejected: \(failure.reason)")
            return reply(request, failure.code, diagnostic: failure.reason)
        }
        let existing = registrations.registration(endpoint: endpoint)
        if existing == nil && registrations.count >= configuration.maxRegistrations {
            log.info("Register rejected: server full", metadata: ["registrations": "\(registrations.count)"])
            return reply(request, .serviceUnavailable)
        }
        var additional: [String: String] = [:]
        for (k, v) in query where !Self.isRegisterParameter(k) { additional[k] = v ?? "" }
        let id = newRegistrationID()
        let registration = Registration(
            id: id,
            endpoint: endpoint,
            address: peer,
            identity: identity,
            lifetime: lifetime,
            version: version,
            binding: binding,
            queueMode: queueMode,
            smsNumber: sms,
            rootPath: tree.rootPath,
            supportedContentFormats: tree.contentFormats,
            objects: tree.objects,
            links: links,
            additionalParameters: additional,
            registeredAt: now,
            expiresAt: expiry(now: now, lifetime: lifetime)
        )
        let replaced = registrations.put(registration)
        var cancelled: [Observation] = []
        if let replaced {
            expiries.cancel(replaced.id)
            cancelled = observations.removeAll(registrationID: replaced.id)
            log.info("Registration replaced", metadata: ["old": "\(replaced.id)", "new": "\(id)"])
        }
        expiries.schedule(id, at: registration.expiresAt)
        log.debug("Registered", metadata: ["id": "\(id)", "lifetime": "\(lifetime)", "version": "\(version)"])
        var response = makeResponse(request, .created)
        response.locationPath = [configuration.registrationPath, id]
        return RegistrationOutput(
            response: response,
            events: [.registered(registration, replaced: replaced)],
            cancelledObservations: cancelled
        )
    }

    private mutating func update(
        _ request: CoAPMessage,
        id: String,
        from peer: SocketAddress,
        identity: CoAPPeerIdentity?,
        now: NIODeadline
    ) -> RegistrationOutput {
        var log = logger
        if log.logLevel <= .warning {
            log[metadataKey: "peer"] = .string(peer.hostAndPort)
            log[metadataKey: "registration"] = .string(id)
        }
        guard let previous = registrations.registration(id: id) else {
            log.info("Update rejected: unknown registration")
            return reply(request, .notFound)
        }
        if let refusal = identityMismatch(previous, identity, peer: peer, operation: "Update") { return reply(request, refusal) }
        let query: [String: String?]
        switch parseQuery(request.uriQuery) {
        case .success(let q): query = q
        case .failure(let reason):
            log.info("Update rejected: \(reason)")
            return reply(request, .badRequest, diagnostic: "\(reason)")
        }
        var current = previous
        var queue = current.queueMode
        let hadBinding = query["b"] != nil
        if hadBinding { queue = false }
        switch parseCommonParameters(
            query, lifetime: &current.lifetime, binding: &current.binding, queueMode: &queue, sms: &current.smsNumber)
        {
        case nil: break
        case let reason?:
            log.info("Update rejected: \(reason)")
            return reply(request, .badRequest, diagnostic: "\(reason)")
        }
        // Queue mode changes only through the parameters that carry it.
        if hadBinding || query["Q"] != nil { current.queueMode = queue }
        if request.payload.readableBytes > 0 {
            switch parsePayload(request) {
            case .success(let (links, tree)):
                current.links = links
                current.objects = tree.objects
                current.rootPath = tree.rootPath
                if !tree.contentFormats.isEmpty {
                    current.supportedContentFormats = tree.contentFormats
                }
            case .failure(let failure):
                log.info("Update rejected: \(failure.reason)")
                return reply(request, failure.code, diagnostic: failure.reason)
            }
        }
        current.address = peer
        current.lastUpdate = now
        current.expiresAt = expiry(now: now, lifetime: current.lifetime)
        _ = registrations.put(current)
        expiries.schedule(id, at: current.expiresAt)
        log.debug("Updated")
        return RegistrationOutput(
            response: makeResponse(request, .changed),
            events: [.updated(RegistrationUpdate(previous: previous, current: current))]
        )
    }

    private mutating func deregister(
        _ request: CoAPMessage, id: String, from peer: SocketAddress, identity: CoAPPeerIdentity?
    ) -> RegistrationOutput {
        guard let existing = registrations.registration(id: id) else {
            logger.info("De-register rejected: unknown registration", metadata: ["registration": "\(id)", "peer": "\(peer.hostAndPort)"])
            return reply(request, .notFound)
        }
        if let refusal = identityMismatch(existing, identity, peer: peer, operation: "De-register") {
            return reply(request, refusal)
        }
        guard let removed = registrations.remove(id: id) else { return reply(request, .notFound) }
        expiries.cancel(id)
        let cancelled = observations.removeAll(registrationID: id)
        logger.debug("De-registered", metadata: ["registration": "\(id)", "endpoint": "\(removed.endpoint)"])
        return RegistrationOutput(
            response: makeResponse(request, .deleted),
            events: [.deregistered(removed)],
            cancelledObservations: cancelled
        )
    }

    /// 4.03 when `identity` is not the one `registration` was made with (logged with peer, endpoint and both
    /// identities), `nil` when it is.
    private func identityMismatch(
        _ registration: Registration, _ identity: CoAPPeerIdentity?, peer: SocketAddress, operation: String
    ) -> CoAPCode? {
        guard registration.identity != identity else { return nil }
        let credential = identity?.securityCredential.description ?? "no DTLS identity"
        let registered = registration.identity?.securityCredential.description ?? "no DTLS identity"
        let text = "\(operation) of \(registration.endpoint) from \(peer.hostAndPort) with \(credential)"
        logger.warning("\(text) rejected (4.03): it registered with \(registered)")
        return .forbidden
    }

    private mutating func send(
        _ request: CoAPMessage, from peer: SocketAddress, identity: CoAPPeerIdentity?, now: NIODeadline
    ) -> RegistrationOutput {
        guard let registration = registrations.registration(address: peer) else {
            logger.info("Send rejected: peer not registered", metadata: ["peer": "\(peer.hostAndPort)"])
            return reply(request, .forbidden)
        }
        if let refusal = identityMismatch(registration, identity, peer: peer, operation: "Send") { return reply(request, refusal) }
        guard let format = request.contentFormat,
            [CoAPContentFormat.senmlJSON, .senmlCBOR, .lwm2mCBOR].contains(format.canonical)
        else {
            return reply(request, .unsupportedContentFormat)
        }
        guard let decoder = configuration.sendDecoder else { return reply(request, .notImplemented) }
        do {
            let records = try decoder(format, request.payload)
            let report = LwM2MSendReport(
                endpoint: registration.endpoint, registrationID: registration.id, contentFormat: format,
                records: records, receivedAt: now)
            return RegistrationOutput(response: makeResponse(request, .changed), events: [.send(report)])
        } catch {
            logger.info("Send rejected: \(error)", metadata: ["endpoint": "\(registration.endpoint)"])
            return reply(request, .badRequest, diagnostic: "\(error)")
        }
    }

    // MARK: Time

    /// Removes the registrations whose lifetime (plus grace) ran out at `now`.
    public mutating func expire(now: NIODeadline) -> RegistrationOutput {
        var output = RegistrationOutput(response: nil)
        for id in expiries.popExpired(now: now) {
            guard let removed = registrations.remove(id: id) else { continue }
            output.events.append(.expired(removed))
            output.cancelledObservations += observations.removeAll(registrationID: id)
            logger.info("Registration expired", metadata: ["registration": "\(id)", "endpoint": "\(removed.endpoint)"])
        }
        return output
    }

    /// Removes a registration on the server's own initiative (an administrator, a revoked credential); reports it
    /// as de-registered and cancels its observations.
    public mutating func removeRegistration(id: String) -> RegistrationOutput {
        guard let removed = registrations.remove(id: id) else { return RegistrationOutput(response: nil) }
        expiries.cancel(id)
        return RegistrationOutput(
            response: nil, events: [.deregistered(removed)],
            cancelledObservations: observations.removeAll(registrationID: id))
    }

    // MARK: Helpers

    private static func isRegisterParameter(_ name: String) -> Bool {
        switch name {
        case "ep", "lt", "lwm2m", "b", "sms", "Q": return true
        default: return false
        }
    }

    private func expiry(now: NIODeadline, lifetime: UInt32) -> NIODeadline {
        now + .seconds(Int64(lifetime)) + configuration.expiryGrace
    }

    private mutating func newRegistrationID() -> String {
        while true {
            // One 64-bit draw (one getrandom call) gives 10 base-62 characters (62^10 < 2^60); 10 ASCII bytes make
            // a small (inline) string, so no allocation.
            var value = random.next()
            let id = String(unsafeUninitializedCapacity: 10) { buffer in
                for k in 0..<10 {
                    let digit = Int(value % 62)
                    value /= 62
                    buffer[k] = digit < 26 ? 0x61 + UInt8(digit) : digit < 52 ? 0x41 + UInt8(digit - 26) : 0x30 + UInt8(digit - 52)
                }
                return 10
            }
            if registrations.registration(id: id) == nil { return id }
        }
    }

    private mutating func pruneRateWindows(now: NIODeadline) {
        let window = configuration.registerRateWindow
        registerCounts = registerCounts.filter { now - $0.value.windowStart < window }
    }

    /// Parses `k=v` / `k` query items; repeated keys and more than 32 items are errors.
    private func parseQuery(_ items: [String]) -> Result<[String: String?], QueryError> {
        guard items.count <= 32 else { return .failure(QueryError("too many query parameters")) }
        var out: [String: String?] = [:]
        out.reserveCapacity(items.count)
        for item in items {
            let key: String
            let value: String?
            if let eq = item.firstIndex(of: "=") {
                key = String(item[..<eq])
                value = String(item[item.index(after: eq)...])
            } else {
                key = item
                value = nil
            }
            guard !key.isEmpty else { return .failure(QueryError("empty query parameter name")) }
            guard out.updateValue(value, forKey: key) == nil else {
                return .failure(QueryError("repeated query parameter \(key)"))
            }
        }
        return .success(out)
    }

    /// Applies `lt`, `b`, `sms` and `Q`; returns a reason when one is malformed.
    private func parseCommonParameters(
        _ query: [String: String?],
        lifetime: inout UInt32,
        binding: inout LwM2MBinding,
        queueMode: inout Bool,
        sms: inout String?
    ) -> String? {
        if let lt = query["lt"] {
            guard let lt, !lt.isEmpty, lt.count <= 10, lt.allSatisfy({ $0 >= "0" && $0 <= "9" }), let value = UInt32(lt)
            else { return "bad lifetime" }
            guard configuration.lifetimeRange.contains(value) else {
                return "lifetime \(value) s outside \(configuration.lifetimeRange.lowerBound)...\(configuration.lifetimeRange.upperBound)"
            }
            lifetime = value
        }
        if let b = query["b"] {
            guard let b, let parsed = LwM2MBinding.parse(b) else { return "bad binding" }
            binding = parsed.binding
            if parsed.queueMode { queueMode = true }
        }
        if let q = query["Q"] {
            guard q == nil || q == "" else { return "the Q parameter takes no value" }
            queueMode = true
        }
        if let s = query["sms"] {
            guard let s, !s.isEmpty, s.count <= 32 else { return "bad sms number" }
            sms = s
        }
        return nil
    }

    private struct PayloadFailure: Error {
        var code: CoAPCode
        var reason: String
    }

    private func parsePayload(_ request: CoAPMessage) -> Result<([RegistrationLink], RegistrationObjectTree), PayloadFailure> {
        if let format = request.contentFormat, format != .linkFormat {
            return .failure(PayloadFailure(code: .unsupportedContentFormat, reason: "payload is not link format"))
        }
        guard request.payload.readableBytes <= configuration.maxPayloadSize else {
            return .failure(PayloadFailure(code: .requestEntityTooLarge, reason: "payload too large"))
        }
        do {
            let links = try parseRegistrationLinks(request.payload)
            let tree = try interpretRegistrationLinks(links)
            return .success((links, tree))
        } catch {
            return .failure(PayloadFailure(code: .badRequest, reason: "bad registration payload: \(error)"))
        }
    }

    private func makeResponse(_ request: CoAPMessage, _ code: CoAPCode) -> CoAPMessage {
        CoAPMessage(
            type: request.type == .confirmable ? .acknowledgement : .nonConfirmable,
            code: code,
            messageID: request.messageID,
            token: request.token
        )
    }

    private func reply(_ request: CoAPMessage, _ code: CoAPCode, diagnostic: String? = nil) -> RegistrationOutput {
        var response = makeResponse(request, code)
        if let diagnostic, code.codeClass >= 4 {
            // Diagnostic payload (RFC 7252 5.5.2): UTF-8 text, no Content-Format.
            response.payload = ByteBuffer(string: String(diagnostic.prefix(128)))
        }
        return RegistrationOutput(response: response)
    }
}

private struct QueryError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension RegistrationStateMachine: Sendable where Registrations: Sendable, Observations: Sendable {}

extension RegistrationStateMachine where Registrations == InMemoryRegistrationStore, Observations == InMemoryObservationStore {
    /// Creates the state machine with in-memory stores.
    public init(configuration: RegistrationConfiguration = .init(), logger: Logger) {
        self.init(
            configuration: configuration, registrations: InMemoryRegistrationStore(),
            observations: InMemoryObservationStore(), logger: logger)
    }
}
