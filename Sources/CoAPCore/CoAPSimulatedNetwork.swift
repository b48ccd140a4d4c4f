public import NIOCore
import Synchronization

/// An in-memory datagram network driven by a `CoAPVirtualClock`: transports made by it deliver to each
/// other by address, and the network can drop, duplicate, reorder and delay datagrams with a seeded
/// generator, so lossy runs are reproducible and need no sleeps.
public final class CoAPSimulatedNetwork: Sendable {
    /// How the network treats each datagram.
    public struct Conditions: Sendable, Hashable {
        /// Probability (0...1) that a datagram is lost.
        public var lossRate: Double
        /// Probability (0...1) that a delivered datagram is delivered twice.
        public var duplicateRate: Double
        /// Probability (0...1) that a datagram gets an extra random delay of up to `reorderWindow`, which
        /// lets later datagrams overtake it.
        public var reorderRate: Double
        /// The largest extra delay of a reordered datagram.
        public var reorderWindow: TimeAmount
        /// The base one-way delay.
        public var latency: TimeAmount

        /// Creates conditions; the defaults are a perfect network with no delay.
        public init(
            lossRate: Double = 0, duplicateRate: Double = 0, reorderRate: Double = 0,
            reorderWindow: TimeAmount = .milliseconds(500), latency: TimeAmount = .zero
        ) {
            self.lossRate = lossRate
            self.duplicateRate = duplicateRate
            self.reorderRate = reorderRate
            self.reorderWindow = reorderWindow
            self.latency = latency
        }

        /// No loss, no duplicates, no delay.
        public static let perfect = Conditions()
    }

    /// What happened to datagrams so far.
    public struct Statistics: Sendable, Hashable {
        /// Datagrams handed to `send`.
        public var sent = 0
        /// Datagrams lost on purpose or sent to an address nobody has.
        public var dropped = 0
        /// Extra copies delivered.
        public var duplicated = 0
        /// Datagrams delayed for reordering.
        public var reordered = 0
        /// Datagrams put into a receiver's inbound stream.
        public var delivered = 0
    }

    private struct State {
        var conditions: Conditions
        var random: CoAPRandom
        var endpoints: [SocketAddress: AsyncStream<CoAPDatagram>.Continuation] = [:]
        var identities: [SocketAddress: CoAPPeerIdentity] = [:]
        var nextHost = 1
        var statistics = Statistics()
    }

    /// The clock that times delays.
    public let clock: CoAPVirtualClock
    private let state: Mutex<State>

    /// Creates a network on `clock` with `conditions` and a generator seeded with `seed`.
    public init(clock: CoAPVirtualClock, conditions: Conditions = .perfect, seed: UInt64 = 1) {
        self.clock = clock
        self.state = Mutex(State(conditions: conditions, random: CoAPRandom(seed: seed)))
    }

    /// The current conditions (they can change during a run).
    public var conditions: Conditions {
        get { state.withLock { $0.conditions } }
        set { state.withLock { $0.conditions = newValue } }
    }

    /// Counters of what the network did.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Creates a transport at `address`, or at a fresh `10.x.y.z:5683` address when `nil`. Datagrams it sends
    /// arrive carrying `peerIdentity`, as if a secure transport had authenticated the sender.
    public func makeTransport(address: SocketAddress? = nil, peerIdentity: CoAPPeerIdentity? = nil)
        -> CoAPSimulatedTransport
    {
        let (stream, continuation) = AsyncStream<CoAPDatagram>.makeStream(bufferingPolicy: .unbounded)
        let address = state.withLock { s -> SocketAddress in
            let resolved: SocketAddress
            if let address {
                resolved = address
            } else {
                let n = s.nextHost
                s.nextHost += 1
                // Host numbers count up through 10.0.0.1, 10.0.0.2 ... (never .0 or .255).
                let ip = "10.\((n / 64_516) % 256).\((n / 254) % 254).\(n % 254 + 1)"
                resolved = try! SocketAddress(ipAddress: ip, port: 5683)  // a valid literal by construction
            }
            s.endpoints[resolved] = continuation
            s.identities[resolved] = peerIdentity
            return resolved
        }
        return CoAPSimulatedTransport(network: self, localAddress: address, inbound: stream)
    }

    func route(_ datagram: CoAPDatagram, from source: SocketAddress) {
        // Decide the datagram's fate under the lock, deliver outside it.
        let (delays, identity): ([TimeAmount], CoAPPeerIdentity?) = state.withLock { s in
            s.statistics.sent += 1
            let c = s.conditions
            func chance(_ p: Double) -> Bool { p > 0 && Double(s.random.next() >> 11) / Double(1 << 53) < p }
            if chance(c.lossRate) || s.endpoints[datagram.remote] == nil {
                s.statistics.dropped += 1
                return ([], nil)
            }
            var delays: [TimeAmount] = []
            let copies = chance(c.duplicateRate) ? 2 : 1
            if copies == 2 { s.statistics.duplicated += 1 }
            for _ in 0..<copies {
                var delay = c.latency
                if chance(c.reorderRate) {
                    s.statistics.reordered += 1
                    delay = delay + .nanoseconds(Int64(s.random.next() % UInt64(max(1, c.reorderWindow.nanoseconds))))
                }
                delays.append(delay)
            }
            return (delays, s.identities[source])
        }
        let inbound = CoAPDatagram(remote: source, data: datagram.data, peerIdentity: identity)
        let destination = datagram.remote
        for delay in delays {
            if delay <= .zero {
                deliver(inbound, to: destination)
            } else {
                clock.schedule(at: clock.now + delay) { [self] in deliver(inbound, to: destination) }
            }
        }
    }

    private func deliver(_ datagram: CoAPDatagram, to destination: SocketAddress) {
        let continuation = state.withLock { s -> AsyncStream<CoAPDatagram>.Continuation? in
            guard let c = s.endpoints[destination] else {
                s.statistics.dropped += 1
                return nil
            }
            s.statistics.delivered += 1
            return c
        }
        continuation?.yield(datagram)
    }

    func detach(_ address: SocketAddress) {
        let continuation = state.withLock { $0.endpoints.removeValue(forKey: address) }
        continuation?.finish()
    }
}

/// A transport on a `CoAPSimulatedNetwork`.
public final class CoAPSimulatedTransport: CoAPTransport {
    /// The network this transport lives on.
    public let network: CoAPSimulatedNetwork
    /// The simulated address.
    public let localAddress: SocketAddress
    /// Datagrams delivered to this address.
    public let inbound: AsyncStream<CoAPDatagram>
    /// Always `coap`.
    public var scheme: String { "coap" }

    init(network: CoAPSimulatedNetwork, localAddress: SocketAddress, inbound: AsyncStream<CoAPDatagram>) {
        self.network = network
        self.localAddress = localAddress
        self.inbound = inbound
    }

    /// Hands the datagram to the network.
    public func send(_ datagram: CoAPDatagram) {
        network.route(datagram, from: localAddress)
    }

    /// Leaves the network; `inbound` finishes.
    public func close() async {
        network.detach(localAddress)
    }
}
