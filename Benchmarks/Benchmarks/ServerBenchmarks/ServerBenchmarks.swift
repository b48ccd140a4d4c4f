import Benchmark
import BenchmarkSupport
import CoAPCore
import Logging
import NIOCore
import ServerKit

#if canImport(Glibc)
import Glibc
#endif

typealias Machine = RegistrationStateMachine<InMemoryRegistrationStore, InMemoryObservationStore>

let payload = ByteBuffer(
    string: "</>;rt=\"oma.lwm2m\";ct=\"60 110 112 11542\",</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</4/0>,</5/0>,</3303/0>")

/// A Register request of client `k` (endpoint `urn:imei:35907206xxxxxxx`).
func register(_ k: Int) -> CoAPMessage {
    var m = CoAPMessage(
        type: .confirmable, code: .post, messageID: UInt16(truncatingIfNeeded: k), token: CoAPToken(value: UInt64(k)))
    m.uriPath = ["rd"]
    m.uriQuery = ["ep=urn:imei:35907206\(1_000_000 + k)", "lt=300", "lwm2m=1.1", "b=U"]
    m.contentFormat = .linkFormat
    m.payload = payload
    return m
}

func peer(_ k: Int) -> SocketAddress {
    try! SocketAddress(ipAddress: "10.\(k >> 16 & 0xFF).\(k >> 8 & 0xFF).\(k & 0xFF)", port: 5683)
}

func newMachine() -> Machine {
    var configuration = RegistrationConfiguration()
    configuration.registerRateLimit = nil
    return Machine(configuration: configuration, logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
}

let now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

/// Machines holding 100, 10k and 100k registrations (with a Send decoder that returns no records), built once.
let scaledMachines: [Int: (Machine, [String])] = {
    var out: [Int: (Machine, [String])] = [:]
    for count in [100, 10_000, 100_000] {
        var configuration = RegistrationConfiguration()
        configuration.registerRateLimit = nil
        configuration.sendDecoder = { _, _ in [] }
        var m = Machine(configuration: configuration, logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        var ids: [String] = []
        for k in 0..<count { ids.append(m.handle(register(k), from: peer(k), now: now).response!.locationPath[1]) }
        out[count] = (m, ids)
    }
    return out
}()

func scaled(_ count: Int) -> (Machine, [String]) { scaledMachines[count]! }

/// A machine holding `count` registrations, and their IDs.
func populated(_ count: Int) -> (Machine, [String]) {
    var m = newMachine()
    var ids: [String] = []
    ids.reserveCapacity(count)
    for k in 0..<count {
        let out = m.handle(register(k), from: peer(k), now: now)
        ids.append(out.response!.locationPath[1])
    }
    return (m, ids)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 1,
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )

    // Each sample starts from a machine holding 10,000 clients (set up outside the measurement) and handles 1,000
    // requests; throughput is requests per second.
    let requests = (10_000..<11_000).map(register)
    let newPeers = (10_000..<11_000).map(peer)
    let oldPeers = (0..<1000).map(peer)

    Benchmark("Register (1k new clients, 10k registered)") { benchmark in
        var (m, _) = populated(10_000)
        benchmark.startMeasurement()
        for k in benchmark.scaledIterations { blackHole(m.handle(requests[k], from: newPeers[k], now: now)) }
        benchmark.stopMeasurement()
    }

    Benchmark("Update (1k of 10k registered)") { benchmark in
        var (m, ids) = populated(10_000)
        let updates: [CoAPMessage] = ids.prefix(1000).map { id in
            var u = CoAPMessage(type: .confirmable, code: .post, messageID: 7, token: CoAPToken(value: 9))
            u.uriPath = ["rd", id]
            u.uriQuery = ["lt=300"]
            return u
        }
        let later = now + .seconds(10)
        benchmark.startMeasurement()
        for k in benchmark.scaledIterations { blackHole(m.handle(updates[k], from: oldPeers[k], now: later)) }
        benchmark.stopMeasurement()
    }

    Benchmark("De-register (1k of 10k registered)") { benchmark in
        var (m, ids) = populated(10_000)
        let deletes: [CoAPMessage] = ids.prefix(1000).map { id in
            var d = CoAPMessage(type: .confirmable, code: .delete, messageID: 7, token: CoAPToken(value: 9))
            d.uriPath = ["rd", id]
            return d
        }
        benchmark.startMeasurement()
        for k in benchmark.scaledIterations { blackHole(m.handle(deletes[k], from: oldPeers[k], now: now)) }
        benchmark.stopMeasurement()
    }

    // Cost per message against the number of registered clients (issue 5, point 7): the same 1,000 Updates and Sends
    // with 100, 10,000 and 100,000 clients registered. Each machine is built once; its stores are copied before the
    // measurement starts (copy-on-write would otherwise copy them inside it).
    for count in [100, 10_000, 100_000] {
        let label = count >= 1000 ? "\(count / 1000)k" : "\(count)"
        Benchmark("Update (1k, \(label) registered)") { benchmark in
            let (machine, ids) = scaled(count)
            var m = machine
            let updates: [CoAPMessage] = (0..<1000).map { k in
                var u = CoAPMessage(type: .confirmable, code: .post, messageID: 7, token: CoAPToken(value: 9))
                u.uriPath = ["rd", ids[k % ids.count]]
                u.uriQuery = ["lt=300"]
                return u
            }
            let peers = (0..<1000).map { peer($0 % count) }
            let later = now + .seconds(10)
            blackHole(m.handle(updates[0], from: peers[0], now: later))  // un-share the stores
            benchmark.startMeasurement()
            for k in benchmark.scaledIterations { blackHole(m.handle(updates[k], from: peers[k], now: later)) }
            benchmark.stopMeasurement()
        }

        Benchmark("Send (1k, \(label) registered)") { benchmark in
            let (machine, _) = scaled(count)
            var m = machine
            var send = CoAPMessage(type: .nonConfirmable, code: .post, messageID: 7, token: CoAPToken(value: 9))
            send.uriPath = ["dp"]
            send.contentFormat = .senmlJSON
            send.payload = ByteBuffer(string: #"[{"n":"/3/0/9","v":42}]"#)
            let peers = (0..<1000).map { peer($0 % count) }
            blackHole(m.handle(send, from: peers[0], now: now))
            benchmark.startMeasurement()
            for k in benchmark.scaledIterations { blackHole(m.handle(send, from: peers[k], now: now)) }
            benchmark.stopMeasurement()
        }
    }

    // Resident bytes per registration (8 objects, 7 links, 4 content formats), over 100,000 registrations; the
    // requests are built before measuring.
    Benchmark(
        "Memory per registration",
        configuration: .init(
            metrics: [.custom("resident bytes per registration", useScalingFactor: false)], warmupIterations: 0,
            scalingFactor: .one, maxIterations: 1)
    ) { benchmark in
        let count = 100_000
        let requests = (0..<count).map(register)
        let peers = (0..<count).map(peer)
        var m = newMachine()
        let before = residentMemory()
        for k in 0..<count { blackHole(m.handle(requests[k], from: peers[k], now: now).response) }
        let after = residentMemory()
        blackHole(m)
        benchmark.measurement(.custom("resident bytes per registration", useScalingFactor: false), (after - before) / count)
    }
}
