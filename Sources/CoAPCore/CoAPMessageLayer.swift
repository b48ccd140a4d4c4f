public import NIOCore
import DequeModule

/// Identifies one outgoing exchange of a `CoAPMessageLayer`: a request, a ping, or a Confirmable
/// or Non-confirmable message such as a separate response or a notification.
public struct CoAPExchangeID: Hashable, Sendable, CustomStringConvertible {
    /// The layer-local number.
    public let rawValue: UInt64

    /// Creates an ID.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public var description: String { "#\(rawValue)" }
}

/// What an answer to an inbound request needs: the peer, the request's message ID, token and type.
public struct CoAPInboundExchange: Hashable, Sendable {
    /// The peer that sent the request.
    public let peer: SocketAddress
    /// The request's message ID.
    public let messageID: UInt16
    /// The request's token (echoed in the response).
    public let token: CoAPToken
    /// CON or NON.
    public let type: CoAPMessageType

    /// Creates a handle.
    public init(peer: SocketAddress, messageID: UInt16, token: CoAPToken, type: CoAPMessageType) {
        self.peer = peer
        self.messageID = messageID
        self.token = token
        self.type = type
    }
}

/// What a `CoAPMessageLayer` asks its driver to do.
public enum CoAPMessageLayerAction: Sendable {
    /// Send these bytes to `remote`.
    case send(CoAPDatagram)
    /// A well-formed request for the application; answer it with `respond(to:with:now:)`.
    case deliverRequest(CoAPMessage, CoAPInboundExchange)
    /// A response for an outgoing request. `isFinal` is false while the exchange stays open for more
    /// responses with the same token (an observation).
    case deliverResponse(CoAPExchangeID, CoAPMessage, isFinal: Bool)
    /// A ping was answered, or a Confirmable message was acknowledged (or a Non-confirmable one sent).
    case delivered(CoAPExchangeID)
    /// The exchange failed and is gone.
    case failed(CoAPExchangeID, CoAPExchangeError)
    /// Diagnostic only: an inbound datagram was rejected or not (fully) delivered - malformed, a duplicate,
    /// unmatched, or with a bad option - and what the layer answered (any datagram it sent comes as its own
    /// `.send`). Drivers log it; ignoring it is always safe. Carried boxed so ordinary actions stay small.
    indirect case discarded(CoAPDiscard)
}

/// The CoAP message layer and request/response matching of RFC 7252 as a pure state machine
/// (sans-I/O): datagrams, application calls and time go in, datagrams and deliveries come out.
///
/// It implements Confirmable retransmission with exponential back-off, Non-confirmable messages,
/// piggybacked and separate responses, Reset, ping, message ID and token generation, deduplication per
/// peer and message ID (replaying the cached answer for EXCHANGE_LIFETIME), NSTART per peer with a queue
/// (RFC 7252 4.7: Confirmables and requests; a Non-confirmable notification or separate response is not an
/// outstanding interaction and is paced on its own, one per peer per ACK_TIMEOUT, RFC 7641 4.5.1),
/// 4.02 for unrecognised critical options, RST for malformed Confirmables. Every inbound datagram it
/// rejects or does not deliver also yields a `.discarded(CoAPDiscard)` action (peer, reason, decoding error,
/// option, answer) for the driver to log. Lookups are hash maps and timers a binary heap, so it scales to many
/// peers. Call `advance(to:)` at `nextDeadline`.
public struct CoAPMessageLayer {
    /// The layer's configuration.
    public struct Configuration: Sendable {
        /// RFC 7252 transmission parameters.
        public var parameters: CoAPTransmissionParameters
        /// Length of generated tokens (0 to 8 bytes).
        public var tokenLength: Int
        /// How long a Confirmable request may wait for the application's answer before an empty ACK goes
        /// out and the answer becomes a separate response.
        public var piggybackDelay: TimeAmount
        /// How long a request waits for its response when the caller gives no timeout
        /// (default EXCHANGE_LIFETIME).
        public var defaultResponseTimeout: TimeAmount?
        /// Option numbers beyond the registered ones that this node understands (so they are not rejected
        /// as unrecognised critical options).
        public var additionalUnderstoodOptions: Set<CoAPOptionNumber>

        /// Creates a configuration.
        public init(
            parameters: CoAPTransmissionParameters = .default,
            tokenLength: Int = 8,
            piggybackDelay: TimeAmount = .seconds(1),
            defaultResponseTimeout: TimeAmount? = nil,
            additionalUnderstoodOptions: Set<CoAPOptionNumber> = []
        ) {
            precondition((0...8).contains(tokenLength), "a CoAP token has 0 to 8 bytes")
            self.parameters = parameters
            self.tokenLength = tokenLength
            self.piggybackDelay = piggybackDelay
            self.defaultResponseTimeout = defaultResponseTimeout
            self.additionalUnderstoodOptions = additionalUnderstoodOptions
        }
    }

    struct PeerMID: Hashable {
        var peer: SocketAddress
        var messageID: UInt16
    }

    struct PeerToken: Hashable {
        var peer: SocketAddress
        var token: CoAPToken
    }

    enum Kind {
        case request(keepsTokenOpen: Bool)
        case ping
        case message
    }

    enum Phase {
        case queued
        case transmitting
        case awaitingResponse
        case open
    }

    struct Outgoing {
        var peer: SocketAddress
        var message: CoAPMessage
        var kind: Kind
        var phase: Phase = .queued
        var bytes = ByteBuffer()
        var transmissions = 0
        var timeout: TimeAmount = .zero
        var retransmitDeadline: NIODeadline?
        var responseDeadline: NIODeadline?
        var holdsSlot = false
    }

    struct Received {
        var expires: NIODeadline
        var type: CoAPMessageType
        var token: CoAPToken
        /// What went back for this message ID (ACK, RST or a piggybacked response), replayed on duplicates.
        var reply: ByteBuffer?
        /// A request handed to the application and not answered yet.
        var pending = false
        var piggybackDeadline: NIODeadline?
    }

    enum Timer {
        case retransmit(CoAPExchangeID)
        case response(CoAPExchangeID)
        case dedup(PeerMID)
        case piggyback(PeerMID)
    }

    struct PeerState {
        /// Outstanding interactions (RFC 7252 4.7), at most NSTART, and the exchanges waiting for one.
        var outstanding = 0
        var queue = Deque<CoAPExchangeID>()
        /// Whether a paced NON (a notification or separate response) is within its ACK_TIMEOUT, and the ones
        /// waiting for it.
        var nonInFlight = false
        var nonQueue = Deque<CoAPExchangeID>()

        var isIdle: Bool { outstanding == 0 && queue.isEmpty && !nonInFlight && nonQueue.isEmpty }
    }

    /// Whether `outgoing` is a NON that is not a request: not an outstanding interaction (RFC 7252 4.7), so it
    /// does not take an NSTART slot, but paced per peer (RFC 7641 4.5.1: without an RTT estimate, about one
    /// NON notification per ACK_TIMEOUT).
    private static func isPacedNonConfirmable(_ outgoing: Outgoing) -> Bool {
        guard outgoing.message.type == .nonConfirmable, case .message = outgoing.kind else { return false }
        return true
    }

    /// The configuration.
    public let configuration: Configuration
    private var random: CoAPRandom
    private var nextMessageID: UInt16
    private var nextExchangeID: UInt64 = 0
    private var exchanges: [CoAPExchangeID: Outgoing] = [:]
    private var byMessageID: [PeerMID: CoAPExchangeID] = [:]
    private var byToken: [PeerToken: CoAPExchangeID] = [:]
    private var peers: [SocketAddress: PeerState] = [:]
    private var received: [PeerMID: Received] = [:]
    private var timers = CoAPTimerQueue<Timer>()
    private let allocator = ByteBufferAllocator()

    /// Creates a layer. A `seed` makes message IDs, tokens and retransmission jitter reproducible.
    public init(configuration: Configuration = .init(), seed: UInt64? = nil) {
        self.configuration = configuration
        self.random = seed.map(CoAPRandom.init(seed:)) ?? CoAPRandom()
        self.nextMessageID = UInt16(truncatingIfNeeded: random.next())
    }

    /// The earliest time `advance(to:)` has work to do (may be early; never late).
    public var nextDeadline: NIODeadline? { timers.nextDeadline }

    /// Outgoing exchanges in any phase (queued, unacknowledged, awaiting a response, open).
    public var exchangeCount: Int { exchanges.count }

    /// Message IDs remembered for deduplication.
    public var deduplicationCount: Int { received.count }

    /// Timer entries held, including stale ones not yet dropped (bounded by compaction).
    public var timerCount: Int { timers.count }

    /// Exchanges waiting for NSTART with their peer.
    public func queuedCount(for peer: SocketAddress) -> Int {
        guard let state = peers[peer] else { return 0 }
        return state.queue.count + state.nonQueue.count
    }

    // MARK: - Application calls

    /// Starts a request to `peer`. The layer assigns the message ID and, when `message.token` is empty, a
    /// fresh token; the type is NON when `message.type` is `.nonConfirmable`, otherwise CON. With
    /// `keepsTokenOpen` the exchange stays open after the first response (for Observe) until cancelled.
    public mutating func startRequest(
        _ message: CoAPMessage, to peer: SocketAddress, responseTimeout: TimeAmount? = nil,
        keepsTokenOpen: Bool = false, id: CoAPExchangeID? = nil, now: NIODeadline
    ) -> (CoAPExchangeID, [CoAPMessageLayerAction]) {
        let id = id ?? makeExchangeID()
        guard message.code.isRequest else {
            return (id, [.failed(id, CoAPExchangeError(code: .invalidRequest, reason: "\(message.code) is not a method"))])
        }
        var message = message
        message.type = message.type == .nonConfirmable ? .nonConfirmable : .confirmable
        if message.token.length == 0 {
            message.token = makeToken(for: peer)
        } else if byToken[PeerToken(peer: peer, token: message.token)] != nil {
            return (id, [.failed(id, CoAPExchangeError(code: .invalidRequest, reason: "token \(message.token) is in use"))])
        }
        var outgoing = Outgoing(peer: peer, message: message, kind: .request(keepsTokenOpen: keepsTokenOpen))
        let timeout = responseTimeout ?? configuration.defaultResponseTimeout ?? configuration.parameters.exchangeLifetime
        let deadline = now + timeout
        outgoing.responseDeadline = deadline
        timers.insert(.response(id), at: deadline)
        exchanges[id] = outgoing
        byToken[PeerToken(peer: peer, token: message.token)] = id
        var actions: [CoAPMessageLayerAction] = []
        startOrQueue(id, now: now, into: &actions)
        compactTimersIfNeeded()
        return (id, actions)
    }

    /// Pings `peer` with an empty Confirmable (RFC 7252 4.3); `.delivered` reports the peer's RST.
    public mutating func ping(
        _ peer: SocketAddress, id: CoAPExchangeID? = nil, now: NIODeadline
    ) -> (CoAPExchangeID, [CoAPMessageLayerAction]) {
        let id = id ?? makeExchangeID()
        exchanges[id] = Outgoing(peer: peer, message: CoAPMessage(type: .confirmable, code: .empty, messageID: 0), kind: .ping)
        var actions: [CoAPMessageLayerAction] = []
        startOrQueue(id, now: now, into: &actions)
        return (id, actions)
    }

    /// Sends a response-coded message outside a request exchange (a notification, or a separate response
    /// built by the caller) with the caller's token; CON unless `message.type` is `.nonConfirmable`.
    /// `.delivered` reports the ACK (or, for NON, the end of its ACK_TIMEOUT pacing interval, during which a RST
    /// still fails it); `.failed` a RST or give-up. A NON does not wait for, or hold, the peer's NSTART slot; NONs
    /// to one peer go out one per ACK_TIMEOUT.
    public mutating func send(
        _ message: CoAPMessage, to peer: SocketAddress, id: CoAPExchangeID? = nil, now: NIODeadline
    ) -> (CoAPExchangeID, [CoAPMessageLayerAction]) {
        let id = id ?? makeExchangeID()
        var message = message
        message.type = message.type == .nonConfirmable ? .nonConfirmable : .confirmable
        exchanges[id] = Outgoing(peer: peer, message: message, kind: .message)
        var actions: [CoAPMessageLayerAction] = []
        startOrQueue(id, now: now, into: &actions)
        return (id, actions)
    }

    /// Answers an inbound request: piggybacked in the ACK while possible, otherwise as a separate
    /// response (CON after an empty ACK, NON for a NON request). Type, message ID and token are set here.
    public mutating func respond(
        to exchange: CoAPInboundExchange, with response: CoAPMessage, now: NIODeadline
    ) -> [CoAPMessageLayerAction] {
        let key = PeerMID(peer: exchange.peer, messageID: exchange.messageID)
        var response = response
        response.token = exchange.token
        var actions: [CoAPMessageLayerAction] = []
        if var entry = received[key], entry.pending, entry.token == exchange.token {
            entry.pending = false
            entry.piggybackDeadline = nil
            if exchange.type == .confirmable && entry.reply == nil {
                response.type = .acknowledgement
                response.messageID = exchange.messageID
                let bytes = response.encoded(allocator: allocator)
                entry.reply = bytes
                received[key] = entry
                actions.append(.send(CoAPDatagram(remote: exchange.peer, data: bytes)))
                return actions
            }
            received[key] = entry
        }
        response.type = exchange.type == .confirmable ? .confirmable : .nonConfirmable
        let id = makeExchangeID()
        exchanges[id] = Outgoing(peer: exchange.peer, message: response, kind: .message)
        startOrQueue(id, now: now, into: &actions)
        return actions
    }

    /// The outgoing exchange that holds `token` towards `peer`, if any (e.g. an open Observe registration).
    public func exchange(token: CoAPToken, peer: SocketAddress) -> CoAPExchangeID? {
        byToken[PeerToken(peer: peer, token: token)]
    }

    /// Forgets an outgoing exchange (the caller gave up); later responses with its token are rejected.
    public mutating func cancel(_ id: CoAPExchangeID, now: NIODeadline) -> [CoAPMessageLayerAction] {
        var actions: [CoAPMessageLayerAction] = []
        remove(id, now: now, into: &actions)
        return actions
    }

    // MARK: - Network input

    /// Processes one inbound datagram from `peer`.
    public mutating func receive(
        _ datagram: ByteBuffer, from peer: SocketAddress, now: NIODeadline
    ) -> [CoAPMessageLayerAction] {
        var actions: [CoAPMessageLayerAction] = []
        let message: CoAPMessage
        do {
            message = try CoAPMessage(decoding: datagram)
        } catch {
            // RFC 7252 4.2: a Confirmable with a format error is rejected with RST; anything else is ignored.
            var answer = CoAPDiscard.Answer.nothing
            if error.messageType == .confirmable, let mid = error.messageID, error.code != .unsupportedVersion {
                actions.append(.send(reset(mid, to: peer)))
                answer = .reset
            }
            actions.append(.discarded(CoAPDiscard(
                peer: peer, reason: .malformed, answer: answer, messageID: error.messageID,
                messageType: error.messageType, decodingError: error,
                option: error.optionNumber.flatMap { UInt16(exactly: $0) }.map(CoAPOptionNumber.init(rawValue:)))))
            return actions
        }
        switch message.type {
        case .acknowledgement:
            if message.code.isRequest {
                actions.append(.discarded(Self.discard(message, from: peer, .requestInAcknowledgement)))
            } else {
                handleAcknowledgement(message, from: peer, now: now, into: &actions)
            }
        case .reset:
            if message.code.isEmpty {
                handleReset(message.messageID, from: peer, now: now, into: &actions)
            } else {
                actions.append(.discarded(Self.discard(message, from: peer, .nonEmptyReset)))
            }
        case .confirmable, .nonConfirmable:
            if message.code.isEmpty {
                // An empty CON is a ping: answer RST. An empty NON is a format error: ignore.
                if message.type == .confirmable {
                    actions.append(.send(reset(message.messageID, to: peer)))
                } else {
                    actions.append(.discarded(Self.discard(message, from: peer, .emptyNonConfirmable)))
                }
                return actions
            }
            let key = PeerMID(peer: peer, messageID: message.messageID)
            if var entry = received[key] {
                // Duplicate: replay what went back; if the application still works on it, ACK now.
                var answer = CoAPDiscard.Answer.nothing
                if let reply = entry.reply {
                    actions.append(.send(CoAPDatagram(remote: peer, data: reply)))
                    answer = .replay
                } else if entry.pending && entry.type == .confirmable {
                    let ack = emptyAck(message.messageID, to: peer)
                    entry.reply = ack.data
                    entry.piggybackDeadline = nil
                    received[key] = entry
                    actions.append(.send(ack))
                    answer = .emptyAcknowledgement
                }
                actions.append(.discarded(Self.discard(message, from: peer, .duplicate, answer: answer)))
                return actions
            }
            let lifetime = message.type == .confirmable
                ? configuration.parameters.exchangeLifetime : configuration.parameters.nonLifetime
            received[key] = Received(expires: now + lifetime, type: message.type, token: message.token)
            timers.insert(.dedup(key), at: now + lifetime)
            if message.code.isRequest {
                handleRequest(message, key: key, now: now, into: &actions)
            } else {
                handleSeparateResponse(message, key: key, now: now, into: &actions)
            }
        }
        return actions
    }

    // MARK: - Time

    /// Runs every timer due at `now`: retransmissions, give-ups, response timeouts, empty ACKs for slow
    /// answers, and expiry of deduplication entries.
    public mutating func advance(to now: NIODeadline) -> [CoAPMessageLayerAction] {
        var actions: [CoAPMessageLayerAction] = []
        while let (deadline, timer) = timers.popDue(now: now) {
            switch timer {
            case .retransmit(let id):
                guard var outgoing = exchanges[id], outgoing.phase == .transmitting,
                      outgoing.retransmitDeadline == deadline else { continue }
                if outgoing.message.type == .nonConfirmable {
                    // A NON holds its slot (NSTART for a request, the pacing slot otherwise) for one ACK_TIMEOUT;
                    // then it is considered sent.
                    outgoing.retransmitDeadline = nil
                    byMessageID.removeValue(forKey: PeerMID(peer: outgoing.peer, messageID: outgoing.message.messageID))
                    if case .request = outgoing.kind {
                        outgoing.phase = .awaitingResponse
                        exchanges[id] = outgoing
                        release(id, now: now, into: &actions)
                    } else {
                        remove(id, now: now, into: &actions)
                        actions.append(.delivered(id))
                    }
                } else if outgoing.transmissions <= configuration.parameters.maxRetransmit {
                    outgoing.transmissions += 1
                    outgoing.timeout = outgoing.timeout * 2
                    // The schedule counts from the deadline, not from a late timer's firing, so the
                    // retransmissions keep RFC 7252's spacing from the first transmission (MAX_TRANSMIT_SPAN);
                    // after a stall of a whole timeout it restarts from now (no burst of catch-up sends).
                    let base = now - deadline < outgoing.timeout ? deadline : now
                    outgoing.retransmitDeadline = base + outgoing.timeout
                    timers.insert(.retransmit(id), at: base + outgoing.timeout)
                    exchanges[id] = outgoing
                    actions.append(.send(CoAPDatagram(remote: outgoing.peer, data: outgoing.bytes)))
                } else {
                    remove(id, now: now, into: &actions)
                    actions.append(.failed(id, .transmissionTimeout(
                        "no acknowledgement from \(outgoing.peer.hostAndPort) after \(outgoing.transmissions) transmissions")))
                }
            case .response(let id):
                guard let outgoing = exchanges[id], outgoing.responseDeadline == deadline else { continue }
                remove(id, now: now, into: &actions)
                actions.append(.failed(id, .responseTimeout("no response from \(outgoing.peer.hostAndPort) in time")))
            case .dedup(let key):
                if let entry = received[key], entry.expires <= now { received.removeValue(forKey: key) }
            case .piggyback(let key):
                guard var entry = received[key], entry.pending, entry.reply == nil,
                      entry.piggybackDeadline == deadline else { continue }
                let ack = emptyAck(key.messageID, to: key.peer)
                entry.reply = ack.data
                entry.piggybackDeadline = nil
                received[key] = entry
                actions.append(.send(ack))
            }
        }
        return actions
    }

    /// Drops timers whose exchange or deduplication entry is gone or was rescheduled, once stale entries
    /// clearly outnumber live ones (amortised O(1) per timer; keeps memory proportional to live state when
    /// exchanges finish long before their response timeout).
    private mutating func compactTimersIfNeeded() {
        let live = 3 * exchanges.count + 2 * received.count
        guard timers.count > 4_096 && timers.count > 2 * live else { return }
        let exchanges = self.exchanges
        let received = self.received
        timers.retain { deadline, timer in
            switch timer {
            case .retransmit(let id):
                return exchanges[id].map { $0.phase == .transmitting && $0.retransmitDeadline == deadline } ?? false
            case .response(let id):
                return exchanges[id]?.responseDeadline == deadline
            case .dedup(let key):
                return received[key]?.expires == deadline
            case .piggyback(let key):
                return received[key]?.piggybackDeadline == deadline
            }
        }
    }

    // MARK: - Inbound handling

    private mutating func handleRequest(
        _ message: CoAPMessage, key: PeerMID, now: NIODeadline, into actions: inout [CoAPMessageLayerAction]
    ) {
        var message = message
        switch Self.checkOptions(of: &message, isRequest: true, understood: configuration.additionalUnderstoodOptions) {
        case .some(let problem):
            let (code, reason) = (problem.code, problem.reason)
            let discardReason: CoAPDiscardReason = code == .badOption ? .badOption : .proxyingNotSupported
            if code == .badOption && message.type == .nonConfirmable {
                // RFC 7252 5.4.1: a NON with an unrecognised critical option is rejected (4.3: RST).
                let rst = reset(message.messageID, to: key.peer)
                received[key]?.reply = rst.data
                actions.append(.send(rst))
                actions.append(.discarded(Self.discard(
                    message, from: key.peer, discardReason, answer: .reset, option: problem.option)))
                return
            }
            var answer = CoAPMessage(
                type: message.type == .confirmable ? .acknowledgement : .nonConfirmable, code: code,
                messageID: message.type == .confirmable ? message.messageID : takeMessageID(),
                token: message.token, payload: ByteBuffer(string: reason))
            answer.token = message.token
            let bytes = answer.encoded(allocator: allocator)
            received[key]?.reply = bytes
            actions.append(.send(CoAPDatagram(remote: key.peer, data: bytes)))
            actions.append(.discarded(Self.discard(
                message, from: key.peer, discardReason, answer: .response(code), option: problem.option)))
        case .none:
            received[key]?.pending = true
            if message.type == .confirmable {
                let deadline = now + configuration.piggybackDelay
                received[key]?.piggybackDeadline = deadline
                timers.insert(.piggyback(key), at: deadline)
            }
            actions.append(.deliverRequest(message, CoAPInboundExchange(
                peer: key.peer, messageID: message.messageID, token: message.token, type: message.type)))
        }
    }

    private mutating func handleSeparateResponse(
        _ message: CoAPMessage, key: PeerMID, now: NIODeadline, into actions: inout [CoAPMessageLayerAction]
    ) {
        guard let id = byToken[PeerToken(peer: key.peer, token: message.token)] else {
            // No context for it (RFC 7252 4.2/4.3): reject, which also cancels an unwanted observation.
            let rst = reset(message.messageID, to: key.peer)
            received[key]?.reply = rst.data
            actions.append(.send(rst))
            actions.append(.discarded(Self.discard(message, from: key.peer, .unmatchedResponse, answer: .reset)))
            return
        }
        var message = message
        if let problem = Self.checkOptions(
            of: &message, isRequest: false, understood: configuration.additionalUnderstoodOptions) {
            let rst = reset(message.messageID, to: key.peer)
            received[key]?.reply = rst.data
            if message.type == .confirmable { actions.append(.send(rst)) }
            remove(id, now: now, into: &actions)
            actions.append(.discarded(Self.discard(
                message, from: key.peer, .badResponseOption, answer: message.type == .confirmable ? .reset : .nothing,
                option: problem.option, exchange: id)))
            actions.append(.failed(id, CoAPExchangeError(code: .badResponse, reason: problem.reason)))
            return
        }
        if message.type == .confirmable {
            let ack = emptyAck(message.messageID, to: key.peer)
            received[key]?.reply = ack.data
            actions.append(.send(ack))
        }
        completeWithResponse(id, message, now: now, into: &actions)
    }

    private mutating func handleAcknowledgement(
        _ message: CoAPMessage, from peer: SocketAddress, now: NIODeadline, into actions: inout [CoAPMessageLayerAction]
    ) {
        let key = PeerMID(peer: peer, messageID: message.messageID)
        guard let id = byMessageID[key], var outgoing = exchanges[id], outgoing.phase == .transmitting,
              outgoing.message.type == .confirmable else {
            actions.append(.discarded(Self.discard(message, from: peer, .unmatchedAcknowledgement)))
            return
        }
        switch outgoing.kind {
        case .ping, .message:
            remove(id, now: now, into: &actions)
            actions.append(.delivered(id))
        case .request:
            byMessageID.removeValue(forKey: key)
            outgoing.retransmitDeadline = nil
            outgoing.phase = .awaitingResponse
            exchanges[id] = outgoing
            release(id, now: now, into: &actions)
            guard !message.code.isEmpty else { return }
            guard message.token == outgoing.message.token else {
                actions.append(.discarded(Self.discard(message, from: peer, .tokenMismatch, exchange: id)))
                return
            }
            var message = message
            if let problem = Self.checkOptions(
                of: &message, isRequest: false, understood: configuration.additionalUnderstoodOptions) {
                remove(id, now: now, into: &actions)
                actions.append(.discarded(Self.discard(
                    message, from: peer, .badResponseOption, option: problem.option, exchange: id)))
                actions.append(.failed(id, CoAPExchangeError(code: .badResponse, reason: problem.reason)))
                return
            }
            completeWithResponse(id, message, now: now, into: &actions)
        }
    }

    private mutating func handleReset(
        _ messageID: UInt16, from peer: SocketAddress, now: NIODeadline, into actions: inout [CoAPMessageLayerAction]
    ) {
        guard let id = byMessageID[PeerMID(peer: peer, messageID: messageID)], let outgoing = exchanges[id] else {
            actions.append(.discarded(CoAPDiscard(
                peer: peer, reason: .unmatchedReset, answer: .nothing, messageID: messageID, messageType: .reset)))
            return
        }
        remove(id, now: now, into: &actions)
        if case .ping = outgoing.kind {
            actions.append(.delivered(id))
        } else {
            actions.append(.failed(id, .reset("\(peer.hostAndPort) rejected message \(messageID) with RST")))
        }
    }

    private mutating func completeWithResponse(
        _ id: CoAPExchangeID, _ message: CoAPMessage, now: NIODeadline, into actions: inout [CoAPMessageLayerAction]
    ) {
        guard var outgoing = exchanges[id] else { return }
        if outgoing.phase == .transmitting {
            // The response implies the (lost) ACK.
            byMessageID.removeValue(forKey: PeerMID(peer: outgoing.peer, messageID: outgoing.message.messageID))
            outgoing.retransmitDeadline = nil
        }
        if case .request(keepsTokenOpen: true) = outgoing.kind {
            outgoing.phase = .open
            outgoing.responseDeadline = nil
            exchanges[id] = outgoing
            release(id, now: now, into: &actions)
            actions.append(.deliverResponse(id, message, isFinal: false))
        } else {
            exchanges[id] = outgoing
            remove(id, now: now, into: &actions)
            actions.append(.deliverResponse(id, message, isFinal: true))
        }
    }

    /// An option problem found by `checkOptions`: the response code, a reason and the option.
    struct OptionProblem {
        var code: CoAPCode
        var reason: String
        var option: CoAPOptionNumber
    }

    /// Checks options against RFC 7252 5.4: unrecognised, badly sized or wrongly repeated options are
    /// errors when critical and dropped when elective. Returns the response code, reason and option of an error.
    static func checkOptions(
        of message: inout CoAPMessage, isRequest: Bool, understood: Set<CoAPOptionNumber>
    ) -> OptionProblem? {
        var drop = false
        var previous: CoAPOptionNumber?
        for option in message.options {
            let number = option.number
            var acceptable = true
            if number.format == nil && !understood.contains(number) {
                acceptable = false
            } else if let range = number.lengthRange, !range.contains(option.value.readableBytes) {
                acceptable = false
            } else if number == previous && !number.isRepeatable {
                acceptable = false
            }
            if !acceptable {
                if number.isCritical {
                    return OptionProblem(
                        code: .badOption, reason: "unrecognised or invalid critical option \(number.rawValue)",
                        option: number)
                }
                drop = true
            }
            if isRequest && (number == .proxyUri || number == .proxyScheme) {
                return OptionProblem(code: .proxyingNotSupported, reason: "this endpoint is not a proxy", option: number)
            }
            previous = number
        }
        if drop {
            var kept: [CoAPOption] = []
            var previous: CoAPOptionNumber?
            for option in message.options {
                let number = option.number
                let known = number.format != nil || understood.contains(number)
                let sized = number.lengthRange.map { $0.contains(option.value.readableBytes) } ?? true
                if known && sized && (number != previous || number.isRepeatable) { kept.append(option) }
                previous = number
            }
            message = CoAPMessage(
                type: message.type, code: message.code, messageID: message.messageID, token: message.token,
                sortedOptions: kept, payload: message.payload)
        }
        return nil
    }

    // MARK: - Outgoing bookkeeping

    /// Reserves a fresh exchange ID (to pass to `startRequest`, `ping` or `send` when the caller needs the
    /// ID before the call, e.g. for a cancellation handler).
    public mutating func makeExchangeID() -> CoAPExchangeID {
        nextExchangeID += 1
        return CoAPExchangeID(rawValue: nextExchangeID)
    }

    private mutating func takeMessageID() -> UInt16 {
        nextMessageID &+= 1
        return nextMessageID
    }

    private mutating func makeToken(for peer: SocketAddress) -> CoAPToken {
        while true {
            let token = CoAPToken(value: random.next(), length: configuration.tokenLength)
            if byToken[PeerToken(peer: peer, token: token)] == nil { return token }
        }
    }

    private mutating func startOrQueue(_ id: CoAPExchangeID, now: NIODeadline, into actions: inout [CoAPMessageLayerAction]) {
        guard let outgoing = exchanges[id] else { return }
        let peer = outgoing.peer
        var state = peers[peer] ?? PeerState()
        if Self.isPacedNonConfirmable(outgoing) {
            if state.nonInFlight {
                state.nonQueue.append(id)
                peers[peer] = state
            } else {
                state.nonInFlight = true
                peers[peer] = state
                transmit(id, now: now, into: &actions)
            }
            return
        }
        if state.outstanding < configuration.parameters.nstart {
            state.outstanding += 1
            peers[peer] = state
            transmit(id, now: now, into: &actions)
        } else {
            state.queue.append(id)
            peers[peer] = state
        }
    }

    /// Sends an exchange for the first time; the caller has taken an NSTART slot for it.
    private mutating func transmit(_ id: CoAPExchangeID, now: NIODeadline, into actions: inout [CoAPMessageLayerAction]) {
        guard var outgoing = exchanges[id] else { return }
        var mid = takeMessageID()
        while byMessageID[PeerMID(peer: outgoing.peer, messageID: mid)] != nil { mid = takeMessageID() }
        outgoing.message.messageID = mid
        outgoing.bytes = outgoing.message.encoded(allocator: allocator)
        outgoing.phase = .transmitting
        outgoing.holdsSlot = true
        outgoing.transmissions = 1
        let parameters = configuration.parameters
        let span = Double(parameters.ackTimeout.nanoseconds) * (parameters.ackRandomFactor - 1)
        let jitter = span > 0 ? Int64(Double(random.next() >> 11) / Double(1 << 53) * span) : 0
        outgoing.timeout = parameters.ackTimeout + .nanoseconds(jitter)
        outgoing.retransmitDeadline = now + outgoing.timeout
        timers.insert(.retransmit(id), at: now + outgoing.timeout)
        byMessageID[PeerMID(peer: outgoing.peer, messageID: mid)] = id
        actions.append(.send(CoAPDatagram(remote: outgoing.peer, data: outgoing.bytes)))
        exchanges[id] = outgoing
    }

    /// Gives back an exchange's NSTART slot and starts queued exchanges of that peer.
    private mutating func release(_ id: CoAPExchangeID, now: NIODeadline, into actions: inout [CoAPMessageLayerAction]) {
        guard var outgoing = exchanges[id], outgoing.holdsSlot else { return }
        outgoing.holdsSlot = false
        exchanges[id] = outgoing
        let peer = outgoing.peer
        guard var state = peers[peer] else { return }
        if Self.isPacedNonConfirmable(outgoing) {
            state.nonInFlight = false
            while !state.nonInFlight, let next = state.nonQueue.popFirst() {
                guard exchanges[next]?.phase == .queued else { continue }
                state.nonInFlight = true
                peers[peer] = state
                transmit(next, now: now, into: &actions)
                state = peers[peer] ?? state
            }
        } else {
            state.outstanding -= 1
            while state.outstanding < configuration.parameters.nstart, let next = state.queue.popFirst() {
                guard exchanges[next]?.phase == .queued else { continue }
                state.outstanding += 1
                peers[peer] = state
                transmit(next, now: now, into: &actions)
                state = peers[peer] ?? state
            }
        }
        if state.isIdle {
            peers.removeValue(forKey: peer)
        } else {
            peers[peer] = state
        }
    }

    /// Drops an exchange from every index and frees its slot.
    private mutating func remove(_ id: CoAPExchangeID, now: NIODeadline, into actions: inout [CoAPMessageLayerAction]) {
        guard let outgoing = exchanges[id] else { return }
        release(id, now: now, into: &actions)
        exchanges.removeValue(forKey: id)
        let midKey = PeerMID(peer: outgoing.peer, messageID: outgoing.message.messageID)
        if byMessageID[midKey] == id { byMessageID.removeValue(forKey: midKey) }
        if case .request = outgoing.kind {
            let tokenKey = PeerToken(peer: outgoing.peer, token: outgoing.message.token)
            if byToken[tokenKey] == id { byToken.removeValue(forKey: tokenKey) }
        }
        // A queued exchange stays in its peer's queue; `release` skips it when it comes up.
    }

    private static func discard(
        _ message: CoAPMessage, from peer: SocketAddress, _ reason: CoAPDiscardReason,
        answer: CoAPDiscard.Answer = .nothing, option: CoAPOptionNumber? = nil, exchange: CoAPExchangeID? = nil
    ) -> CoAPDiscard {
        CoAPDiscard(
            peer: peer, reason: reason, answer: answer, messageID: message.messageID, messageType: message.type,
            option: option, exchange: exchange)
    }

    private func reset(_ messageID: UInt16, to peer: SocketAddress) -> CoAPDatagram {
        CoAPDatagram(remote: peer, data: CoAPMessage(type: .reset, code: .empty, messageID: messageID).encoded(allocator: allocator))
    }

    private func emptyAck(_ messageID: UInt16, to peer: SocketAddress) -> CoAPDatagram {
        CoAPDatagram(
            remote: peer,
            data: CoAPMessage(type: .acknowledgement, code: .empty, messageID: messageID).encoded(allocator: allocator))
    }
}

extension CoAPOptionNumber {
    /// Whether RFC 7252 (table 4) or its extensions allow the option more than once.
    public var isRepeatable: Bool {
        switch rawValue {
        case 1, 4, 8, 11, 15, 20: return true
        default: return false
        }
    }
}
