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


/// Runs `body` in a task and advances the virtual clock in `step`s (letting other tasks run between
/// steps) until it finishes; returns its result.
func driving<T: Sendable>(
    _ clock: CoAPVirtualClock, step: TimeAmount = .milliseconds(100), maxVirtual: TimeAmount = .seconds(3600),
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let task = Task { try await body() }
    let finished = Mutex(false)
    let watcher = Task {
        _ = try? await task.value
        finished.withLock { $0 = true }
    }
    let limit = clock.now + maxVirtual
    while !finished.withLock({ $0 }) && clock.now < limit {
        for _ in 0..<20 { await Task.yield() }
        clock.advance(by: step)
    }
    _ = await watcher.value
    return try await task.value
}
