@testable import CoAPCore
import NIOCore
import Synchronization
import Testing

/// Addresses for pure state-machine tests.
func testAddress(_ n: Int, port: Int = 5683) -> SocketAddress {
    try! SocketAddress(ipAddress: "192.0.2.\(n)", port: port)
}

let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

extension Array where Element == CoAPMessageLayerAction {
    /// The decoded messages of `.send` actions.
    var sent: [CoAPMessage] {
        compactMap { if case .send(let d) = $0 { return try? CoAPMessage(decoding: d.data) } else { return nil } }
    }

    /// The raw `.send` datagrams.
    var datagrams: [CoAPDatagram] {
        compactMap { if case .send(let d) = $0 { return d } else { return nil } }
    }

    /// Requests handed to the application.
    var requests: [(CoAPMessage, CoAPInboundExchange)] {
        compactMap { if case .deliverRequest(let m, let e) = $0 { return (m, e) } else { return nil } }
    }

    /// Responses handed to the application.
    var responses: [(CoAPExchangeID, CoAPMessage, Bool)] {
        compactMap { if case .deliverResponse(let id, let m, let f) = $0 { return (id, m, f) } else { return nil } }
    }

    /// Failures.
    var failures: [(CoAPExchangeID, CoAPExchangeError)] {
        compactMap { if case .failed(let id, let e) = $0 { return (id, e) } else { return nil } }
    }

    /// Diagnostics for inbound datagrams the layer rejected or did not deliver.
    var discards: [CoAPDiscard] {
        compactMap { if case .discarded(let d) = $0 { return d } else { return nil } }
    }

    /// Delivered notifications/pings.
    var delivered: [CoAPExchangeID] {
        compactMap { if case .delivered(let id) = $0 { return id } else { return nil } }
    }
}


