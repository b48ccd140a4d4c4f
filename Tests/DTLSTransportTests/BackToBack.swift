import CoAPCore
import DTLSTransport
import Logging
import NIOCore

/// A server engine and client engines wired back to back in memory, with a virtual clock and a filter that can
/// drop or duplicate datagrams.
///
/// OpenSSL 3.0 reads the wall clock for its handshake retransmission timer, so the retransmission tests
/// configure a short (20 ms) initial timeout and this harness waits for OpenSSL's timer in real time when it is
/// the only thing pending; everything else (handshake timeouts, idle eviction, cookie rotation) runs on the
/// virtual clock.
final class BackToBack {
    enum Direction { case toServer, toClient }

    let server: DTLSServerEngine
    var clients: [SocketAddress: DTLSClientEngine] = [:]
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    /// Decides what reaches the other side: return [] to drop, [d, d] to duplicate.
    var filter: (Direction, SocketAddress, ByteBuffer) -> [ByteBuffer] = { _, _, datagram in [datagram] }
    private var inFlight: [(Direction, SocketAddress, ByteBuffer)] = []
    var serverOutputs: [DTLSServerEngine.Output] = []
    var clientOutputs: [SocketAddress: [DTLSClientEngine.Output]] = [:]
    /// Every datagram put on the wire (before the filter), for byte-level assertions.
    var wire: [(Direction, SocketAddress, ByteBuffer)] = []

    init(server configuration: DTLSConfiguration) throws {
        var logger = Logger(label: "test.dtls.server")
        logger.logLevel = .critical
        server = try DTLSServerEngine(configuration: configuration, logger: logger)
    }

    static func address(_ port: Int) -> SocketAddress { try! SocketAddress(ipAddress: "10.0.0.\(port % 250 + 1)", port: port) }
    static let serverAddress = try! SocketAddress(ipAddress: "10.1.1.1", port: 5684)

    @discardableResult
    func addClient(
        at address: SocketAddress, configuration: DTLSConfiguration, cache: DTLSClientSessionCache? = nil
    ) throws -> DTLSClientEngine {
        var logger = Logger(label: "test.dtls.client")
        logger.logLevel = .critical
        let client = try DTLSClientEngine(
            configuration: configuration, server: BackToBack.serverAddress, sessionCache: cache, logger: logger)
        clients[address] = client
        return client
    }

    func start(_ address: SocketAddress) {
        handleClient(address, clients[address]!.start(now: now))
    }

    func clientSend(_ address: SocketAddress, _ text: String) {
        handleClient(address, clients[address]!.send(ByteBuffer(string: text), now: now))
    }

    func serverSend(_ address: SocketAddress, _ text: String) throws {
        handleServer(try server.send(ByteBuffer(string: text), to: address, now: now).get())
    }

    func handleClient(_ address: SocketAddress, _ outputs: [DTLSClientEngine.Output]) {
        for output in outputs {
            if case .datagram(let bytes) = output {
                put(.toServer, address, bytes)
            } else {
                clientOutputs[address, default: []].append(output)
            }
        }
    }

    func handleServer(_ outputs: [DTLSServerEngine.Output]) {
        for output in outputs {
            if case .datagram(let bytes, let address) = output {
                put(.toClient, address, bytes)
            } else {
                serverOutputs.append(output)
            }
        }
    }

    private func put(_ direction: Direction, _ address: SocketAddress, _ bytes: ByteBuffer) {
        wire.append((direction, address, bytes))
        for copy in filter(direction, address, bytes) { inFlight.append((direction, address, copy)) }
    }

    /// Delivers one queued datagram; false when none is queued.
    func deliverOne() -> Bool {
        guard !inFlight.isEmpty else { return false }
        let (direction, address, bytes) = inFlight.removeFirst()
        switch direction {
        case .toServer:
            handleServer(server.receive(bytes, from: address, now: now))
        case .toClient:
            if let client = clients[address] { handleClient(address, client.receive(bytes, now: now)) }
        }
        return true
    }

    /// Delivers datagrams until none is in flight (no timers run, the clock stands still).
    func settle() {
        while deliverOne() {}
    }

    /// Advances the virtual clock by `amount`, running timers.
    func advance(by amount: TimeAmount) {
        now = now + amount
        runTimers()
    }

    private func runTimers() {
        handleServer(server.handleTimers(now: now))
        for (address, client) in clients { handleClient(address, client.handleTimers(now: now)) }
    }

    /// Runs deliveries and timers until `done` holds or nothing is pending (or `limit` of virtual time passed).
    func run(limit: TimeAmount = .seconds(120), until done: () -> Bool) async {
        let end = now + limit
        var idleRounds = 0
        while !done() && now < end {
            if deliverOne() { idleRounds = 0; continue }
            var deadlines = clients.values.compactMap { $0.nextDeadline(now: now) }
            if let serverDeadline = server.nextDeadline(now: now) { deadlines.append(serverDeadline) }
            guard let next = deadlines.min() else { return }
            if next > now { now = min(next, end) }
            let before = inFlight.count
            runTimers()
            if inFlight.count == before && !done() {
                // Only OpenSSL's wall-clock retransmission timer is pending: let it expire.
                idleRounds += 1
                if idleRounds > 2_000 { return }
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    func established(_ address: SocketAddress) -> Bool {
        clients[address]?.state == .established && server.isEstablished(address)
    }

    func serverPlaintexts(from address: SocketAddress) -> [String] {
        serverOutputs.compactMap {
            if case .plaintext(let bytes, let from, _) = $0, from == address { return String(buffer: bytes) }
            return nil
        }
    }

    func clientPlaintexts(_ address: SocketAddress) -> [String] {
        (clientOutputs[address] ?? []).compactMap {
            if case .plaintext(let bytes) = $0 { return String(buffer: bytes) }
            return nil
        }
    }

    func clientFailure(_ address: SocketAddress) -> DTLSError? {
        for case .failed(let error) in clientOutputs[address] ?? [] { return error }
        return nil
    }

    func serverFailure(_ address: SocketAddress) -> DTLSError? {
        for case .failed(let peer, let error) in serverOutputs where peer == address { return error }
        return nil
    }

    func serverIdentity(_ address: SocketAddress) -> CoAPPeerIdentity? {
        for case .established(let peer, let identity, _) in serverOutputs where peer == address { return identity }
        return nil
    }

    func serverResumed(_ address: SocketAddress) -> [Bool] {
        serverOutputs.compactMap {
            if case .established(let peer, _, let resumed) = $0, peer == address { return resumed }
            return nil
        }
    }
}

extension ByteBuffer {
    /// The DTLS content type and handshake type of the first record (22/1 ClientHello, 22/3 HelloVerifyRequest).
    var firstRecordKinds: (contentType: UInt8, handshakeType: UInt8?) {
        let type = getInteger(at: readerIndex, as: UInt8.self) ?? 0
        return (type, type == 22 ? getInteger(at: readerIndex + 13, as: UInt8.self) : nil)
    }
}
