public import NIOCore

/// The transmission parameters of RFC 7252 section 4.8 and the times derived from them (section 4.8.2).
///
/// The defaults are the RFC's: ACK_TIMEOUT 2 s, ACK_RANDOM_FACTOR 1.5, MAX_RETRANSMIT 4, NSTART 1,
/// MAX_LATENCY 100 s, PROCESSING_DELAY = ACK_TIMEOUT.
public struct CoAPTransmissionParameters: Sendable, Hashable {
    /// ACK_TIMEOUT: the minimum initial retransmission timeout of a Confirmable message.
    public var ackTimeout: TimeAmount
    /// ACK_RANDOM_FACTOR: the initial timeout is random in `[ackTimeout, ackTimeout * ackRandomFactor]`.
    public var ackRandomFactor: Double
    /// MAX_RETRANSMIT: retransmissions after the first transmission before giving up.
    public var maxRetransmit: Int
    /// NSTART: outstanding interactions allowed per peer; further ones queue.
    public var nstart: Int
    /// MAX_LATENCY: the longest time a datagram is expected to take from sender to receiver.
    public var maxLatency: TimeAmount
    /// PROCESSING_DELAY: the time a node takes to turn a Confirmable around into its acknowledgement.
    public var processingDelay: TimeAmount

    /// Creates parameters; every argument defaults to the RFC's value.
    public init(
        ackTimeout: TimeAmount = .seconds(2),
        ackRandomFactor: Double = 1.5,
        maxRetransmit: Int = 4,
        nstart: Int = 1,
        maxLatency: TimeAmount = .seconds(100),
        processingDelay: TimeAmount? = nil
    ) {
        precondition(ackRandomFactor >= 1, "ACK_RANDOM_FACTOR must be at least 1")
        precondition(maxRetransmit >= 0 && maxRetransmit < 30, "MAX_RETRANSMIT out of range")
        precondition(nstart >= 1, "NSTART must be at least 1")
        self.ackTimeout = ackTimeout
        self.ackRandomFactor = ackRandomFactor
        self.maxRetransmit = maxRetransmit
        self.nstart = nstart
        self.maxLatency = maxLatency
        self.processingDelay = processingDelay ?? ackTimeout
    }

    /// The RFC 7252 defaults.
    public static let `default` = CoAPTransmissionParameters()

    /// MAX_TRANSMIT_SPAN: from the first transmission of a Confirmable to its last retransmission (45 s).
    public var maxTransmitSpan: TimeAmount {
        scaled(ackTimeout, by: Double((1 << maxRetransmit) - 1) * ackRandomFactor)
    }

    /// MAX_TRANSMIT_WAIT: from the first transmission to giving up on an acknowledgement (93 s).
    public var maxTransmitWait: TimeAmount {
        scaled(ackTimeout, by: Double((1 << (maxRetransmit + 1)) - 1) * ackRandomFactor)
    }

    /// EXCHANGE_LIFETIME: how long a message ID of a Confirmable stays in use (247 s).
    public var exchangeLifetime: TimeAmount { maxTransmitSpan + maxLatency * 2 + processingDelay }

    /// NON_LIFETIME: how long a message ID of a Non-confirmable stays in use (145 s).
    public var nonLifetime: TimeAmount { maxTransmitSpan + maxLatency }

    func scaled(_ amount: TimeAmount, by factor: Double) -> TimeAmount {
        .nanoseconds(Int64((Double(amount.nanoseconds) * factor).rounded()))
    }
}
