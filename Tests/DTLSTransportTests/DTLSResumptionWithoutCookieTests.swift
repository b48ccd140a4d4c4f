@testable import DTLSTransport
import LwM2MTestPKI
import CoAPCore
import NIOCore
import Testing

/// RFC 6347 section 4.2.1: "the server MAY choose not to do a cookie exchange when a session is resumed". The server
/// answers a ClientHello offering a session from its cache with ServerHello, ChangeCipherSpec and Finished at once.
@Suite("DTLS server: resumption without a cookie exchange")
struct DTLSResumptionWithoutCookieTests {
    let first = BackToBack.address(44001)
    let second = BackToBack.address(44002)

    /// A server pair where `first` completed a full handshake and closed, leaving its session in `cache`.
    func pairWithCachedSession(
        _ tweak: @escaping (inout DTLSConfiguration) -> Void = { _ in }
    ) async throws -> (BackToBack, DTLSClientSessionCache) {
        let cache = DTLSClientSessionCache()
        let pair = try BackToBack(server: pskServerConfiguration(tweak))
        let client = try pair.addClient(at: first, configuration: pskClientConfiguration(), cache: cache)
        pair.start(first)
        await pair.run { pair.established(first) }
        pair.handleClient(first, client.close())
        pair.settle()
        #expect(cache.count == 1 && pair.server.liveConnections == 0)
        #expect(pair.server.statistics.helloVerifyRequestsSent == 1)
        return (pair, cache)
    }

    /// Starts a PSK client at `address` and runs the pair until its handshake is done.
    @discardableResult
    func connect(
        _ pair: BackToBack, at address: SocketAddress, cache: DTLSClientSessionCache?, identity: String = "device-1"
    ) async throws -> DTLSClientEngine {
        let client = try pair.addClient(at: address, configuration: pskClientConfiguration(identity: identity), cache: cache)
        pair.start(address)
        await pair.run { pair.established(address) }
        return client
    }

    /// The handshake type of the server's first datagram to `address` (3: HelloVerifyRequest, 2: ServerHello).
    func firstAnswer(_ pair: BackToBack, to address: SocketAddress) -> UInt8? {
        serverDatagrams(pair, to: address).first?.firstRecordKinds.handshakeType
    }

    /// The server's datagrams to `address`, in order.
    func serverDatagrams(_ pair: BackToBack, to address: SocketAddress) -> [ByteBuffer] {
        pair.wire.filter { $0.0 == .toClient && $0.1 == address }.map(\.2)
    }

    @Test("A ClientHello offering a cached session from a new address gets ServerHello, ChangeCipherSpec, Finished")
    func resumedWithoutHelloVerify() async throws {
        let (pair, cache) = try await pairWithCachedSession()
        let client = try pair.addClient(at: second, configuration: pskClientConfiguration(), cache: cache)
        pair.filter = { _, _, _ in [] }  // deliver by hand
        pair.start(second)
        let hello = try #require(pair.wire.last?.2)
        #expect(DTLSRecord.offeredSessionWithoutCookie(hello) != nil)
        let answer = pair.server.receive(hello, from: second, now: pair.now)
        let datagrams = answer.compactMap { output -> ByteBuffer? in
            if case .datagram(let bytes, let to) = output, to == second { return bytes }
            return nil
        }
        // One flight: ServerHello (22/2), ChangeCipherSpec (20), then the encrypted Finished (22, epoch 1).
        let records = datagrams.flatMap(\.recordHeaders)
        #expect(records.map(\.contentType) == [22, 20, 22])
        #expect(records.map(\.epoch) == [0, 0, 1])
        #expect(datagrams.first?.firstRecordKinds.handshakeType == 2)
        // The flight is not much larger than the ClientHello (no amplification worth the name).
        let flightSize = datagrams.reduce(0) { $0 + $1.readableBytes }
        #expect(2 * flightSize <= 3 * hello.readableBytes, "flight \(flightSize) bytes for a \(hello.readableBytes)-byte ClientHello")
        #expect(pair.server.statistics.helloVerifyRequestsSent == 1)
        #expect(pair.server.statistics.resumptionsWithoutCookie == 1)
        #expect(pair.server.handshakesWithoutCookieInProgress == 1)

        pair.filter = { _, _, datagram in [datagram] }
        for datagram in datagrams { pair.handleClient(second, client.receive(datagram, now: pair.now)) }
        await pair.run { pair.established(second) }
        #expect(client.lastHandshakeResumed)
        #expect(pair.serverResumed(second) == [true])
        #expect(pair.server.statistics.resumedHandshakes == 1)
        #expect(pair.server.handshakesWithoutCookieInProgress == 0)
        pair.clientSend(second, "resumed in one round trip")
        try pair.serverSend(second, "and answered")
        pair.settle()
        #expect(pair.serverPlaintexts(from: second) == ["resumed in one round trip"])
        #expect(pair.clientPlaintexts(second) == ["and answered"])
    }

    @Test("One client after another from new addresses: every resumption skips the exchange, on reused connections too")
    func sequentialResumptions() async throws {
        let (pair, cache) = try await pairWithCachedSession()
        for index in 0..<12 {
            let address = BackToBack.address(45000 + index)
            let client = try await connect(pair, at: address, cache: cache)
            #expect(client.lastHandshakeResumed)
            pair.handleClient(address, client.close())
            pair.settle()
        }
        // The engine reuses the connections of ended associations (they went through DTLSv1_listen, which leaves
        // SSL_OP_COOKIE_EXCHANGE set): none of them may answer with a HelloVerifyRequest of its own.
        #expect(pair.server.spareConnectionCount > 0)
        #expect(pair.server.statistics.helloVerifyRequestsSent == 1)
        #expect(pair.server.statistics.resumptionsWithoutCookie == 12)
        #expect(pair.server.statistics.resumedHandshakes == 12)
    }

    @Test("With maximumResumptionsWithoutCookie 0 a resumption goes through the cookie exchange")
    func switchedOff() async throws {
        let (pair, cache) = try await pairWithCachedSession { $0.maximumResumptionsWithoutCookie = 0 }
        let client = try await connect(pair, at: second, cache: cache)
        #expect(firstAnswer(pair, to: second) == 3)
        #expect(client.lastHandshakeResumed)
        #expect(pair.server.statistics.helloVerifyRequestsSent == 2)
        #expect(pair.server.statistics.resumptionsWithoutCookie == 0)
    }

    @Test("A session the server never issued, or evicted from its cache, gets a HelloVerifyRequest and a full handshake")
    func unknownOrEvictedSession() async throws {
        // A session of another server.
        let (other, cache) = try await pairWithCachedSession()
        _ = other
        let pair = try BackToBack(server: pskServerConfiguration { $0.maximumSavedSessions = 1 })
        let stranger = try await connect(pair, at: second, cache: cache)
        #expect(firstAnswer(pair, to: second) == 3)
        #expect(!stranger.lastHandshakeResumed)
        #expect(pair.server.statistics.resumptionsWithoutCookie == 0)

        // `second` now holds this server's session; a full handshake of a third client evicts it from the cache
        // (one saved session at most), and the index forgets it with it.
        pair.handleClient(second, stranger.close())
        try await connect(pair, at: BackToBack.address(44003), cache: nil, identity: "device-2")
        let fourth = BackToBack.address(44004)
        let late = try await connect(pair, at: fourth, cache: cache)
        #expect(firstAnswer(pair, to: fourth) == 3)
        #expect(!late.lastHandshakeResumed)
        #expect(pair.server.statistics.resumptionsWithoutCookie == 0)
        #expect(pair.server.statistics.fullHandshakes == 3)
    }

    @Test("With maximumSavedSessions 0 the server keeps no session: the next handshake is a full one")
    func noSavedSessions() async throws {
        let cache = DTLSClientSessionCache()
        let pair = try BackToBack(server: pskServerConfiguration { $0.maximumSavedSessions = 0 })
        let earlier = try await connect(pair, at: first, cache: cache)
        pair.handleClient(first, earlier.close())
        pair.settle()
        let client = try await connect(pair, at: second, cache: cache)
        #expect(!client.lastHandshakeResumed)
        #expect(firstAnswer(pair, to: second) == 3)
        #expect(pair.server.statistics.fullHandshakes == 2 && pair.server.statistics.resumedHandshakes == 0)
    }

    static func certificateServer() -> DTLSConfiguration {
        let pki = TestPKI.shared
        return DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey,
            trustAnchorsPEM: pki.caCertificate, requirePeerCertificate: false))
    }

    static func certificateClient() -> DTLSConfiguration {
        let pki = TestPKI.shared
        return DTLSConfiguration(
            certificates: DTLSCertificateConfiguration(
                certificateChainPEM: "", privateKeyPEM: "", trustAnchorsPEM: pki.caCertificate),
            expectedServerName: "localhost")
    }

    @Test(
        "When OpenSSL does not resume a session the index offered, the full handshake stops before any key exchange and only a HelloVerifyRequest goes out",
        arguments: ["psk", "certificates"])
    func indexMissFallsBackToCookie(credentials: String) async throws {
        let server = credentials == "psk" ? pskServerConfiguration() : Self.certificateServer()
        let clientConfiguration = credentials == "psk" ? pskClientConfiguration() : Self.certificateClient()
        // A session of another server with the same credentials.
        let cache = DTLSClientSessionCache()
        let other = try BackToBack(server: server)
        let earlier = try other.addClient(at: first, configuration: clientConfiguration, cache: cache)
        other.start(first)
        await other.run { other.established(first) }
        other.handleClient(first, earlier.close())
        #expect(cache.count == 1)

        let pair = try BackToBack(server: server)
        let client = try pair.addClient(at: second, configuration: clientConfiguration, cache: cache)
        pair.filter = { _, _, _ in [] }
        pair.start(second)
        let hello = try #require(pair.wire.last?.2)
        pair.server.recordResumableSessionForTesting(try #require(DTLSRecord.offeredSessionWithoutCookie(hello)))
        let answer = pair.server.receive(hello, from: second, now: pair.now)
        #expect(answer.count == 1)
        guard case .datagram(let verify, _) = answer.first else { Issue.record("no HelloVerifyRequest"); return }
        #expect(verify.firstRecordKinds.handshakeType == 3)
        #expect(pair.server.refusedFullHandshakes == 1)  // stopped by the certificate callback, before ECDHE/ECDSA
        #expect(pair.server.liveConnections == 0 && pair.server.handshakesInProgress == 0)
        #expect(pair.server.handshakesWithoutCookieInProgress == 0)

        // The listener that took the ClientHello instead still works: the full handshake completes.
        pair.filter = { _, _, datagram in [datagram] }
        pair.handleClient(second, client.receive(verify, now: pair.now))
        await pair.run { pair.established(second) }
        #expect(!client.lastHandshakeResumed)
        #expect(pair.server.statistics.fullHandshakes == 1 && pair.server.statistics.resumptionsWithoutCookie == 0)
        #expect(pair.server.refusedFullHandshakes == 1)
    }

    @Test("At the live-session bound a resumption goes through the cookie exchange before it evicts anyone")
    func noEvictionWithoutCookie() async throws {
        let (pair, cache) = try await pairWithCachedSession { $0.maximumLiveSessions = 1 }
        let holder = BackToBack.address(44003)
        try await connect(pair, at: holder, cache: nil, identity: "device-2")
        try pair.addClient(at: second, configuration: pskClientConfiguration(), cache: cache)
        pair.filter = { _, _, _ in [] }
        pair.start(second)
        let hello = try #require(pair.wire.last?.2)
        let answer = pair.server.receive(hello, from: second, now: pair.now)
        guard case .datagram(let verify, _) = answer.first else { Issue.record("no HelloVerifyRequest"); return }
        #expect(verify.firstRecordKinds.handshakeType == 3)
        #expect(pair.server.isEstablished(holder))  // a forged ClientHello evicts nobody
        pair.filter = { _, _, datagram in [datagram] }
        pair.handleClient(second, pair.clients[second]!.receive(verify, now: pair.now))
        await pair.run { pair.established(second) }
        #expect(pair.serverResumed(second) == [true])
        #expect(!pair.server.isEstablished(holder))  // evicted once the new peer proved its address
        #expect(pair.server.statistics.resumptionsWithoutCookie == 0)
    }

    @Test("At most maximumResumptionsWithoutCookie such handshakes at once; a failed one frees its place")
    func bound() async throws {
        let (pair, cache) = try await pairWithCachedSession {
            $0.maximumResumptionsWithoutCookie = 1
            $0.handshakeTimeout = .seconds(10)
            $0.initialRetransmissionTimeout = .milliseconds(20)  // OpenSSL's timer runs on the wall clock
        }
        let third = BackToBack.address(44003)
        try pair.addClient(at: second, configuration: pskClientConfiguration(), cache: cache)
        try pair.addClient(at: third, configuration: pskClientConfiguration(), cache: cache)
        // Everything to `second` is lost: its handshake stays in progress until it fails.
        pair.filter = { direction, address, datagram in direction == .toClient && address == second ? [] : [datagram] }
        pair.start(second)
        pair.settle()
        #expect(pair.server.handshakesWithoutCookieInProgress == 1)
        pair.start(third)
        await pair.run { pair.established(third) }
        #expect(firstAnswer(pair, to: third) == 3)  // over the bound
        #expect(pair.serverResumed(third) == [true])
        #expect(pair.server.statistics.resumptionsWithoutCookie == 1)

        await pair.run { pair.server.handshakesInProgress == 0 }
        #expect(pair.server.statistics.failedHandshakes == 1)
        #expect(pair.server.handshakesWithoutCookieInProgress == 0)
        // Unanswered, the flight went out twice (once retransmitted), not until the handshake timeout.
        let flights = serverDatagrams(pair, to: second).filter { $0.firstRecordKinds.handshakeType == 2 }
        #expect(flights.count == 2)
        #expect(pair.serverFailure(second)?.reason.contains("after one retransmission") == true)
        let fourth = BackToBack.address(44004)
        try await connect(pair, at: fourth, cache: cache)
        #expect(firstAnswer(pair, to: fourth) == 2)
        #expect(pair.server.statistics.resumptionsWithoutCookie == 2)
    }

    @Test("A peer with an association at the same address goes through the cookie exchange (RFC 6347 4.2.8)")
    func sameAddressKeepsCookie() async throws {
        let cache = DTLSClientSessionCache()
        let pair = try BackToBack(server: pskServerConfiguration())
        try pair.addClient(at: first, configuration: pskClientConfiguration(), cache: cache)
        pair.start(first)
        await pair.run { pair.established(first) }
        let before = serverDatagrams(pair, to: first).count
        let restarted = try pair.addClient(at: first, configuration: pskClientConfiguration(), cache: cache)
        pair.start(first)
        await pair.run { pair.established(first) && pair.serverResumed(first).count == 2 }
        #expect(serverDatagrams(pair, to: first)[before].firstRecordKinds.handshakeType == 3)
        // The old association went without a close_notify, and OpenSSL drops the session of such a connection from
        // its cache: the new handshake is a full one.
        #expect(!restarted.lastHandshakeResumed)
        #expect(pair.server.statistics.resumptionsWithoutCookie == 0)
        #expect(pair.server.liveConnections == 1)
    }

    @Test("The ClientHello parser finds the offered session only in a whole, cookie-less first ClientHello")
    func parser() async throws {
        let (pair, cache) = try await pairWithCachedSession()
        try pair.addClient(at: second, configuration: pskClientConfiguration(), cache: cache)
        pair.filter = { _, _, _ in [] }
        pair.start(second)
        let hello = try #require(pair.wire.last?.2)
        let id = try #require(DTLSRecord.offeredSessionWithoutCookie(hello))
        #expect(id.count == 32)
        let bytes = Array(hello.readableBytesView)
        #expect(bytes[59] == 32)  // session_id length after record (13), handshake (12), version (2), random (32)
        #expect(id == bytes[60..<92].withUnsafeBytes { DTLSSessionID($0) })

        // Every truncation: nil, never a crash.
        for length in 0..<bytes.count {
            #expect(DTLSRecord.offeredSessionWithoutCookie(ByteBuffer(bytes: bytes[..<length])) == nil)
        }
        func mutated(_ change: (inout [UInt8]) -> Void) -> ByteBuffer {
            var copy = bytes
            change(&copy)
            return ByteBuffer(bytes: copy)
        }
        #expect(DTLSRecord.offeredSessionWithoutCookie(mutated { $0[21] = 1 }) == nil)  // fragment_offset 1
        #expect(DTLSRecord.offeredSessionWithoutCookie(mutated { $0[24] &-= 1 }) == nil)  // shorter fragment
        #expect(DTLSRecord.offeredSessionWithoutCookie(mutated { $0[12] &-= 1 }) == nil)  // record shorter than it
        #expect(DTLSRecord.offeredSessionWithoutCookie(mutated { $0[59] = 33 }) == nil)  // session ID too long
        #expect(DTLSRecord.offeredSessionWithoutCookie(mutated { $0[59] = 0 }) == nil)  // no session offered
        #expect(DTLSRecord.offeredSessionWithoutCookie(mutated { $0[92] = 16 }) == nil)  // carries a cookie
        #expect(DTLSRecord.offeredSessionWithoutCookie(mutated { $0[13] = 2 }) == nil)  // not a ClientHello
    }
}

extension ByteBuffer {
    /// The DTLS record headers in the datagram (content type and epoch), following the record lengths.
    var recordHeaders: [(contentType: UInt8, epoch: UInt16)] {
        var headers: [(contentType: UInt8, epoch: UInt16)] = []
        var offset = readerIndex
        while let type = getInteger(at: offset, as: UInt8.self), let epoch = getInteger(at: offset + 3, as: UInt16.self),
            let length = getInteger(at: offset + 11, as: UInt16.self)
        {
            headers.append((type, epoch))
            offset += 13 + Int(length)
        }
        return headers
    }
}
