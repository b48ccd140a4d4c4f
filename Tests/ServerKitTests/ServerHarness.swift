import LwM2MTestPKI
import CoAPCore
import Codecs
import LwM2MModel
import Logging
import NIOCore
import Synchronization
import Testing

@testable import ServerKit

/// A stand-in payload codec for server tests (the real formats are tested in CodecsTests): every format is
/// lines of `path=value`, values typed by the definitions on decode.
struct LineCodec: LwM2MPayloadCodec {
    let definitions: LwM2MRegistry

    static func text(_ v: LwM2MValue) -> String {
        switch v {
        case .string(let s), .coreLink(let s): return s
        case .integer(let i), .time(let i): return String(i)
        case .unsignedInteger(let u): return String(u)
        case .float(let d): return String(d)
        case .boolean(let b): return b ? "1" : "0"
        case .opaque(let bytes): return bytes.map { String($0) }.joined(separator: ":")
        case .objectLink(let l): return l.description
        }
    }

    static func value(_ text: Substring) -> LwM2MValue {
        if let i = Int64(text) { return .integer(i) }
        if let d = Double(text) { return .float(d) }
        return .string(String(text))
    }

    func encode(records: [LwM2MRecord], as format: CoAPContentFormat) throws(LwM2MCodecError) -> [UInt8] {
        Array(records.map { "\($0.path)" + ($0.value.map { "=" + Self.text($0) } ?? "") }.joined(separator: "\n").utf8)
    }

    func decode(records bytes: [UInt8], as format: CoAPContentFormat) throws(LwM2MCodecError) -> [LwM2MRecord] {
        var out: [LwM2MRecord] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard let p = LwM2MPathText(parts[0]) else {
                throw LwM2MCodecError(code: .malformed, reason: "bad path \(parts[0])")
            }
            out.append(LwM2MRecord(path: p.path, value: parts.count > 1 ? Self.value(parts[1]) : nil))
        }
        return out
    }

    func encode(_ node: LwM2MNode, at path: LwM2MPath, as format: CoAPContentFormat) throws(LwM2MCodecError) -> [UInt8] {
        try encode(records: node.records(at: path), as: format)
    }

    func decode(_ bytes: [UInt8], at path: LwM2MPath, as format: CoAPContentFormat) throws(LwM2MCodecError) -> LwM2MNode {
        try LwM2MNode(records: try decode(records: bytes, as: format), at: path, definitions: definitions)
    }
}

/// Collects events from the server's stream; tests await a count of events (no polling).
final class EventLog: Sendable {
    struct State {
        var events: [LwM2MServerEvent] = []
        var waiters: [(Int, CheckedContinuation<Void, Never>)] = []
    }
    let state = Mutex(State())
    var all: [LwM2MServerEvent] { state.withLock { $0.events } }
    var names: [String] { all.map { $0.json["event"]?.stringValue ?? "?" } }

    func append(_ event: LwM2MServerEvent) {
        let ready = state.withLock { s in
            s.events.append(event)
            let n = s.events.count
            let ready = s.waiters.filter { $0.0 <= n }.map(\.1)
            s.waiters.removeAll { $0.0 <= n }
            return ready
        }
        for c in ready { c.resume() }
    }

    /// Returns once `count` events arrived.
    func wait(for count: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s in
                if s.events.count >= count { return true }
                s.waiters.append((count, c))
                return false
            }
            if done { c.resume() }
        }
    }
}

/// A server and one scripted client on the simulated network with a virtual clock.
struct ServerHarness {
    let clock = CoAPVirtualClock()
    let network: CoAPSimulatedNetwork
    let server: LwM2MServer
    let client: CoAPEndpoint
    let log = EventLog()
    let consumer: Task<Void, Never>

    init(codec: (any LwM2MPayloadCodec)? = nil, configure: (inout LwM2MServer.Configuration) -> Void = { _ in }) async {
        network = CoAPSimulatedNetwork(clock: clock, seed: 3)
        var configuration = LwM2MServer.Configuration()
        configuration.requestTimeout = .seconds(5)
        configure(&configuration)
        server = LwM2MServer(
            transport: network.makeTransport(), definitions: testRegistry, codec: codec ?? LineCodec(definitions: testRegistry),
            configuration: configuration, endpointConfiguration: .init(seed: 11, servesWellKnownCore: false), clock: clock)
        client = CoAPEndpoint(transport: network.makeTransport(), configuration: .init(seed: 12), clock: clock)
        await server.start()
        let events = server.events
        let log = self.log
        consumer = Task {
            for await e in events { log.append(e) }
        }
    }

    var serverAddress: SocketAddress { server.localAddress }

    /// Registers the client; returns the registration ID.
    func register(endpoint: String = "dev1", query: [String] = ["lt=60", "lwm2m=1.1"], links: String = "</1/0>,</3/0>,</19/0>")
        async throws -> String
    {
        let response = try await client.request(
            .request(.post, path: "/rd", query: ["ep=\(endpoint)"] + query, payload: ByteBuffer(string: links),
                contentFormat: .linkFormat), to: serverAddress)
        #expect(response.code == .created)
        return response.locationPath.last ?? ""
    }

    /// Awaits `count` events (bounded by a real-time guard).
    func waitForEvents(_ count: Int) async throws {
        let log = self.log
        try await withTimeout(seconds: 10) { await log.wait(for: count) }
    }

    func close() async {
        await client.close()
        await server.close()
        consumer.cancel()
    }
}


