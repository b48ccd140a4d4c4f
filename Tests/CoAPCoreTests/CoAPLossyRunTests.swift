@testable import CoAPCore
import NIOCore
import Testing

/// Many clients and one server, each a pure `CoAPMessageLayer`, joined by a hostile in-test wire.
@Suite("CoAP lossy run (state machines, virtual time)")
struct CoAPLossyRunTests {
    struct InFlight {
        var at: NIODeadline
        var sequence: Int
        var from: SocketAddress
        var to: SocketAddress
        var data: ByteBuffer
    }

    @Test("20% loss both ways, 10% duplicates, 20% reordering: every CON request completes exactly once",
          arguments: [UInt64(1), 2, 3])
    func lossyRun(seed: UInt64) throws {
        // With the RFC default MAX_RETRANSMIT = 4 an exchange fails when all 5 round trips lose a datagram:
        // (1 - 0.8 * 0.8)^5 = 0.6%. The run raises MAX_RETRANSMIT to 8 (0.01%) so "every request completes"
        // is a property of the protocol rules rather than of a lucky seed.
        let parameters = CoAPTransmissionParameters(maxRetransmit: 8)
        let configuration = CoAPMessageLayer.Configuration(parameters: parameters)
        var random = CoAPRandom(seed: seed)
        func chance(_ p: Double) -> Bool { Double(random.next() >> 11) / Double(1 << 53) < p }

        let serverAddress = testAddress(200)
        var server = CoAPMessageLayer(configuration: configuration, seed: seed &+ 1000)
        var clients: [SocketAddress: CoAPMessageLayer] = [:]
        var expected: [SocketAddress: [CoAPExchangeID: String]] = [:]
        var wire: [InFlight] = []
        var sequence = 0
        var now = t0
        var handled = 0

        func put(_ actions: [CoAPMessageLayerAction], from: SocketAddress) {
            for d in actions.datagrams {
                if chance(0.2) { continue }
                let copies = chance(0.1) ? 2 : 1
                for _ in 0..<copies {
                    let delay: TimeAmount = .milliseconds(20) + (chance(0.2) ? .milliseconds(Int64(random.next() % 1500)) : .zero)
                    sequence += 1
                    wire.append(InFlight(at: now + delay, sequence: sequence, from: from, to: d.remote, data: d.data))
                }
            }
        }

        for c in 1...20 {
            let address = testAddress(c)
            var layer = CoAPMessageLayer(configuration: configuration, seed: seed &* 100 &+ UInt64(c))
            for k in 0..<10 {
                let path = "c\(c)/r\(k)"
                let (id, actions) = layer.startRequest(.request(.put, path: path, payload: ByteBuffer(string: path)), to: serverAddress, now: now)
                expected[address, default: [:]][id] = path
                put(actions, from: address)
            }
            clients[address] = layer
        }

        var completed: [SocketAddress: [CoAPExchangeID: String]] = [:]
        var failures: [CoAPExchangeError] = []
        func collect(_ actions: [CoAPMessageLayerAction], at address: SocketAddress) {
            for (id, message, isFinal) in actions.responses {
                #expect(isFinal)
                #expect(completed[address]?[id] == nil, "a response is delivered once")
                completed[address, default: [:]][id] = String(buffer: message.payload)
            }
            failures += actions.failures.map(\.1)
        }

        var steps = 0
        while steps < 200_000 {
            steps += 1
            let nextWire = wire.min { ($0.at, $0.sequence) < ($1.at, $1.sequence) }
            var nextTimer = server.nextDeadline
            for layer in clients.values {
                if let d = layer.nextDeadline, nextTimer.map({ d < $0 }) ?? true { nextTimer = d }
            }
            if let w = nextWire, nextTimer.map({ w.at <= $0 }) ?? true {
                wire.removeAll { $0.sequence == w.sequence }
                now = max(now, w.at)
                if w.to == serverAddress {
                    let actions = server.receive(w.data, from: w.from, now: now)
                    put(actions, from: serverAddress)
                    for (request, exchange) in actions.requests {
                        handled += 1
                        let answer = server.respond(
                            to: exchange, with: .response(.changed, payload: request.payload), now: now)
                        put(answer, from: serverAddress)
                    }
                } else if var layer = clients[w.to] {
                    let actions = layer.receive(w.data, from: w.from, now: now)
                    clients[w.to] = layer
                    put(actions, from: w.to)
                    collect(actions, at: w.to)
                }
            } else if let t = nextTimer {
                if t > t0 + .seconds(3600) { break }
                now = max(now, t)
                put(server.advance(to: now), from: serverAddress)
                for address in Array(clients.keys) {
                    var layer = clients[address]!
                    let actions = layer.advance(to: now)
                    clients[address] = layer
                    put(actions, from: address)
                    collect(actions, at: address)
                }
            } else {
                break
            }
            if completed.values.map(\.count).reduce(0, +) == 200 && wire.isEmpty { break }
        }

        #expect(failures.isEmpty, "failures: \(failures)")
        #expect(completed == expected, "every request completed with its own echoed body")
        #expect(handled == 200, "deduplication: each request reached the handler exactly once")
    }
}
