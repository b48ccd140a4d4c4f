public import NIOCore
import Synchronization

/// Several transports under one CoAP endpoint, e.g. plain CoAP on 5683 and CoAPS on 5684 for one server.
///
/// Inbound datagrams of every transport arrive on one ``inbound`` stream, each with its peer identity. A datagram
/// is sent on the transport its peer was last heard on; a peer never heard from (or last heard on the first
/// transport) is reached through the first transport. Routes are remembered only for peers of the other
/// transports (for DTLS: authenticated peers), at most ``maximumRoutes`` of them.
public final class CoAPCompositeTransport: CoAPTransport {
    /// The transports, the first being the default route.
    public let transports: [any CoAPTransport]
    /// Datagrams of every transport.
    public let inbound: AsyncStream<CoAPDatagram>
    /// The most remembered routes; beyond it the table is cleared (peers are re-learnt from their next datagram).
    public let maximumRoutes: Int
    private let routes = Routes()
    private let pumps: [Task<Void, Never>]

    private final class Routes: Sendable {
        let table = Mutex<[SocketAddress: Int]>([:])
        let finished = Mutex(0)
    }

    /// Combines `transports` (at least one); the first is the default route.
    public init(_ transports: [any CoAPTransport], maximumRoutes: Int = 1_000_000) {
        precondition(!transports.isEmpty, "a composite transport needs at least one transport")
        self.transports = transports
        self.maximumRoutes = maximumRoutes
        let (stream, continuation) = AsyncStream.makeStream(of: CoAPDatagram.self)
        inbound = stream
        let routes = self.routes
        let count = transports.count
        pumps = transports.enumerated().map { index, transport in
            Task {
                for await datagram in transport.inbound {
                    routes.table.withLock { table in
                        if index == 0 {
                            if !table.isEmpty { table[datagram.remote] = nil }
                        } else if table[datagram.remote] != index {
                            if table.count >= maximumRoutes { table.removeAll(keepingCapacity: true) }
                            table[datagram.remote] = index
                        }
                    }
                    continuation.yield(datagram)
                }
                if routes.finished.withLock({ done in
                    done += 1
                    return done == count
                }) {
                    continuation.finish()
                }
            }
        }
    }

    /// The first transport's address.
    public var localAddress: SocketAddress { transports[0].localAddress }

    /// The first transport's scheme.
    public var scheme: String { transports[0].scheme }

    /// Sends on the transport `datagram.remote` was last heard on (the first one by default).
    public func send(_ datagram: CoAPDatagram) {
        let index = routes.table.withLock { $0[datagram.remote] } ?? 0
        transports[index].send(datagram)
    }

    /// Closes every transport; ``inbound`` finishes when all of them have.
    public func close() async {
        for transport in transports { await transport.close() }
        for pump in pumps { await pump.value }
    }
}
