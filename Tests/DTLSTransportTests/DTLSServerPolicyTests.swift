import CoAPCore
import DTLSTransport
import NIOCore
import Testing

@Suite("DTLS server: cookies, resumption, eviction, limits")
struct DTLSServerPolicyTests {
    let client = BackToBack.address(40001)

    @Test("The first ClientHello gets a HelloVerifyRequest and leaves no state; the cookie is bound to the address")
    func statelessCookie() throws {
        let pair = try BackToBack(server: pskServerConfiguration())
        try pair.addClient(at: client, configuration: pskClientConfiguration())
        pair.filter = { _, _, _ in [] }  // deliver by hand
        pair.start(client)
        let hello = try #require(pair.wire.last?.2)
        #expect(hello.firstRecordKinds.contentType == 22 && hello.firstRecordKinds.handshakeType == 1)
        let answer = pair.server.receive(hello, from: client, now: pair.now)
        #expect(answer.count == 1)
        guard case .datagram(let verify, let to) = answer.first else { Issue.record("no HelloVerifyRequest"); return }
        #expect(to == client)
        #expect(verify.firstRecordKinds.contentType == 22 && verify.firstRecordKinds.handshakeType == 3)
        #expect(pair.server.liveConnections == 0 && pair.server.handshakesInProgress == 0)
        #expect(pair.server.statistics.helloVerifyRequestsSent == 1)

        // The client answers with a ClientHello carrying the cookie.
        pair.handleClient(client, pair.clients[client]!.receive(verify, now: pair.now))
        let helloWithCookie = try #require(pair.wire.last?.2)
        #expect(helloWithCookie.firstRecordKinds.handshakeType == 1)

        // Replayed from another address, the cookie is not valid: another HelloVerifyRequest, still no state.
        let spoofed = BackToBack.address(40099)
        let replay = pair.server.receive(helloWithCookie, from: spoofed, now: pair.now)
        guard case .datagram(let second, let secondTo) = replay.first else { Issue.record("no answer"); return }
        #expect(secondTo == spoofed && second.firstRecordKinds.handshakeType == 3)
        #expect(pair.server.liveConnections == 0)

        // From the right address it starts the handshake (server flight 4: ServerHello ... ServerHelloDone).
        let accepted = pair.server.receive(helloWithCookie, from: client, now: pair.now)
        #expect(pair.server.handshakesInProgress == 1)
        guard case .datagram(let flight4, _) = accepted.first else { Issue.record("no ServerHello"); return }
        #expect(flight4.firstRecordKinds.handshakeType == 2)
    }

    @Test("Cookies stay valid across one secret rotation and expire after two")
    func cookieRotation() throws {
        let pair = try BackToBack(server: pskServerConfiguration { $0.cookieSecretLifetime = .seconds(300) })
        let a = BackToBack.address(44001)
        let b = BackToBack.address(44002)
        pair.filter = { _, _, _ in [] }  // deliver by hand
        var cookieHellos: [SocketAddress: ByteBuffer] = [:]
        for address in [a, b] {
            try pair.addClient(at: address, configuration: pskClientConfiguration())
            pair.start(address)
            let hello = pair.wire.last!.2
            guard case .datagram(let verify, _)? = pair.server.receive(hello, from: address, now: pair.now).first else {
                Issue.record("no HelloVerifyRequest")
                return
            }
            pair.handleClient(address, pair.clients[address]!.receive(verify, now: pair.now))
            cookieHellos[address] = pair.wire.last!.2
        }
        // One rotation later A's cookie is still accepted.
        pair.now = pair.now + .seconds(301)
        let answerA = pair.server.receive(cookieHellos[a]!, from: a, now: pair.now)
        #expect(pair.server.handshakesInProgress == 1)
        guard case .datagram(let flightA, _)? = answerA.first else { Issue.record("no answer to A"); return }
        #expect(flightA.firstRecordKinds.handshakeType == 2)  // ServerHello
        // Two rotations later B's cookie is not: another HelloVerifyRequest and no state.
        pair.now = pair.now + .seconds(301)
        let answerB = pair.server.receive(cookieHellos[b]!, from: b, now: pair.now)
        guard case .datagram(let flightB, _)? = answerB.first else { Issue.record("no answer to B"); return }
        #expect(flightB.firstRecordKinds.handshakeType == 3)
        #expect(pair.server.handshakesInProgress == 1)
    }

    @Test("Records from unknown peers that are not a ClientHello are dropped without an answer")
    func garbageFromUnknownPeer() throws {
        let pair = try BackToBack(server: pskServerConfiguration())
        let junk: [[UInt8]] = [[], [22], Array(repeating: 0xFF, count: 40), [23, 0xFE, 0xFD] + Array(repeating: 0, count: 30)]
        for bytes in junk {
            #expect(pair.server.receive(ByteBuffer(bytes: bytes), from: client, now: pair.now).isEmpty)
        }
        #expect(pair.server.statistics.droppedDatagrams == junk.count)
    }

    @Test("A second connection with a cached session is an abbreviated handshake")
    func resumption() async throws {
        let cache = DTLSClientSessionCache()
        let pair = try BackToBack(server: pskServerConfiguration())
        let first = try pair.addClient(at: client, configuration: pskClientConfiguration(), cache: cache)
        pair.start(client)
        await pair.run { pair.established(client) }
        #expect(first.lastHandshakeResumed == false)
        #expect(cache.count == 1)
        pair.handleClient(client, first.close())
        pair.settle()
        #expect(pair.server.liveConnections == 0)

        let second = try pair.addClient(at: client, configuration: pskClientConfiguration(), cache: cache)
        pair.start(client)
        await pair.run { pair.established(client) }
        #expect(second.lastHandshakeResumed)
        #expect(pair.serverResumed(client) == [false, true])
        #expect(pair.server.statistics.resumedHandshakes == 1)
        pair.clientSend(client, "after resumption")
        pair.settle()
        #expect(pair.serverPlaintexts(from: client) == ["after resumption"])
    }

    @Test("An idle association is evicted with close_notify and resumed when the client talks again")
    func evictionAndResume() async throws {
        let idle: (inout DTLSConfiguration) -> Void = { $0.idleTimeout = .seconds(30) }
        let pair = try BackToBack(server: pskServerConfiguration(idle))
        let device = try pair.addClient(at: client, configuration: pskClientConfiguration(), cache: DTLSClientSessionCache())
        pair.start(client)
        await pair.run { pair.established(client) }
        pair.advance(by: .seconds(20))  // idle, but not long enough to be evicted
        #expect(pair.server.liveConnections == 1)
        pair.clientSend(client, "quiet but alive")
        try pair.serverSend(client, "still answering")
        pair.settle()
        #expect(pair.serverPlaintexts(from: client) == ["quiet but alive"])
        #expect(pair.clientPlaintexts(client) == ["still answering"])
        pair.advance(by: .seconds(20))
        #expect(pair.server.liveConnections == 1)
        pair.advance(by: .seconds(15))
        #expect(pair.server.liveConnections == 0)
        #expect(pair.server.statistics.evictions == 1)
        let closeNotify = try #require(pair.wire.last)
        #expect(closeNotify.0 == .toClient && closeNotify.2.firstRecordKinds.contentType == 21)  // alert record
        pair.settle()
        #expect(device.state == .closed)

        pair.clientSend(client, "I am back")
        await pair.run { pair.serverPlaintexts(from: client).last == "I am back" }
        #expect(pair.serverPlaintexts(from: client) == ["quiet but alive", "I am back"])
        #expect(pair.serverResumed(client) == [false, true])
        #expect(device.lastHandshakeResumed)
    }

    @Test("The live-session bound evicts the least recently used association")
    func liveSessionLimit() async throws {
        let pair = try BackToBack(server: pskServerConfiguration { $0.maximumLiveSessions = 2 })
        let addresses = (1...3).map { BackToBack.address(41000 + $0) }
        for address in addresses {
            try pair.addClient(at: address, configuration: pskClientConfiguration())
            pair.start(address)
            await pair.run { pair.established(address) }
            pair.advance(by: .seconds(1))
        }
        #expect(pair.server.liveConnections == 2)
        #expect(!pair.server.isEstablished(addresses[0]))
        #expect(pair.server.isEstablished(addresses[1]) && pair.server.isEstablished(addresses[2]))
        #expect(pair.clients[addresses[0]]?.state == .closed)
    }

    @Test("The concurrent-handshake bound ignores new peers while it is reached")
    func handshakeLimit() async throws {
        let pair = try BackToBack(server: pskServerConfiguration { $0.maximumConcurrentHandshakes = 1 })
        let a = BackToBack.address(42001)
        let b = BackToBack.address(42002)
        try pair.addClient(at: a, configuration: pskClientConfiguration())
        try pair.addClient(at: b, configuration: pskClientConfiguration(identity: "device-2"))
        // Starve A's handshake after the cookie exchange: the server's flight 4 to A is lost for good.
        pair.filter = { direction, address, datagram in
            direction == .toClient && address == a && datagram.firstRecordKinds.handshakeType == 2 ? [] : [datagram]
        }
        pair.start(a)
        while pair.deliverOne() {}
        #expect(pair.server.handshakesInProgress == 1)
        let before = pair.wire.count
        pair.start(b)
        while pair.deliverOne() {}
        #expect(pair.wire.count == before + 1)  // B's ClientHello got no answer at all
        #expect(pair.server.handshakesInProgress == 1)
        #expect(pair.server.statistics.droppedDatagrams == 1)
    }

    @Test("A client that restarts with a new ClientHello replaces its old association")
    func clientRestart() async throws {
        let pair = try BackToBack(server: pskServerConfiguration())
        try pair.addClient(at: client, configuration: pskClientConfiguration())
        pair.start(client)
        await pair.run { pair.established(client) }
        try pair.addClient(at: client, configuration: pskClientConfiguration())  // lost all state
        pair.start(client)
        await pair.run { pair.established(client) && pair.serverResumed(client).count == 2 }
        #expect(pair.serverResumed(client) == [false, false])
        pair.clientSend(client, "fresh")
        pair.settle()
        #expect(pair.serverPlaintexts(from: client) == ["fresh"])
        #expect(pair.server.liveConnections == 1)
    }

    @Test("A late duplicate of the ClientHello that started an association does not replace it")
    func lateDuplicateClientHello() async throws {
        let pair = try BackToBack(server: pskServerConfiguration())
        try pair.addClient(at: client, configuration: pskClientConfiguration())
        pair.start(client)
        await pair.run { pair.established(client) }
        let hellos = pair.wire.filter { $0.0 == .toServer && $0.2.firstRecordKinds.handshakeType == 1 }
        #expect(hellos.count == 2)  // without and with cookie
        for hello in hellos { pair.handleServer(pair.server.receive(hello.2, from: client, now: pair.now)) }
        #expect(pair.server.isEstablished(client))
        pair.clientSend(client, "still here")
        pair.settle()
        #expect(pair.serverPlaintexts(from: client) == ["still here"])
        #expect(pair.server.statistics.fullHandshakes == 1)
    }

    @Test("Shutdown sends close_notify to every peer")
    func shutdownSendsCloseNotify() async throws {
        let pair = try BackToBack(server: pskServerConfiguration())
        let addresses = [BackToBack.address(43001), BackToBack.address(43002)]
        for address in addresses {
            try pair.addClient(at: address, configuration: pskClientConfiguration())
            pair.start(address)
            await pair.run { pair.established(address) }
        }
        pair.handleServer(pair.server.shutdown())
        let alerts = pair.wire.filter { $0.0 == .toClient && $0.2.firstRecordKinds.contentType == 21 }
        #expect(Set(alerts.map { $0.1 }) == Set(addresses))
        pair.settle()
        #expect(addresses.allSatisfy { pair.clients[$0]?.state == .closed })
        #expect(pair.server.liveConnections == 0)
    }
}
