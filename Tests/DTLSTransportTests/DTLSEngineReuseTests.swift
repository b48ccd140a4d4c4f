@testable import DTLSTransport
import CoAPCore
import NIOCore
import Testing

@Suite("DTLS engine speed-ups keep behaviour")
struct DTLSEngineReuseTests {
    @Test("The PRF provider computes OpenSSL's TLS 1.2 PRF bytes for short, long and odd secrets and lengths")
    func prfMatchesOpenSSL() throws {
        var generator = SystemRandomNumberGenerator()
        for secretLength in [1, 48, 60, 64, 65, 132, 300, 0] {
            for length in [1, 12, 31, 32, 33, 40, 48, 64, 100, 200] {
                let secret = (0..<secretLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let seed = (0..<64).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let ours = try #require(DTLSLibraryContext.tls12PRF(
                    secret: secret, label: "key expansion", seed: seed, length: length, openSSLDefault: false))
                let openSSL = try #require(DTLSLibraryContext.tls12PRF(
                    secret: secret, label: "key expansion", seed: seed, length: length, openSSLDefault: true))
                #expect(ours.provider == "lwm2m-prf")
                #expect(openSSL.provider == "default")
                #expect(ours.output == openSSL.output, "secret \(secretLength) bytes, output \(length) bytes")
            }
        }
    }

    @Test("The PRF provider pads SHA-256 as OpenSSL does for every seed length across two blocks")
    func prfSeedLengthsMatchOpenSSL() throws {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<48).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // With the one-letter label, the HMAC messages are 1 + n (A(1)) and 33 + n bytes: every remainder modulo
        // 64, the one- and two-block paddings and whole blocks taken straight from the input all occur.
        for seedLength in 0...160 {
            let seed = (0..<seedLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let ours = try #require(DTLSLibraryContext.tls12PRF(
                secret: secret, label: "x", seed: seed, length: 40, openSSLDefault: false))
            let openSSL = try #require(DTLSLibraryContext.tls12PRF(
                secret: secret, label: "x", seed: seed, length: 40, openSSLDefault: true))
            #expect(ours.provider == "lwm2m-prf")
            #expect(ours.output == openSSL.output, "seed \(seedLength) bytes")
        }
    }

    @Test("The PRF provider's cached master-secret pad states give OpenSSL's bytes, reused, interleaved and evicted")
    func prfCacheMatchesOpenSSL() throws {
        var generator = SystemRandomNumberGenerator()
        func random(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }
        // Six 48-byte secrets (more than the cache holds) and secrets one byte apart, used in an interleaved order
        // and more often than an entry may be: hits, misses, evictions and wiped entries all meet OpenSSL's bytes.
        var secrets = (0..<6).map { _ in random(48) }
        var nearlyFirst = secrets[0]
        nearlyFirst[47] ^= 1
        secrets.append(nearlyFirst)
        let order = [0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 0, 1, 6, 6, 6, 6, 2, 2, 2, 2, 2, 0, 5, 4, 3, 2, 1, 0]
        for (step, index) in order.enumerated() {
            let labels = ["key expansion", "client finished", "server finished", "EXPORTER-test"]
            let label = labels[step % labels.count]
            let seed = random([32, 64, 13, 100][step % 4])
            let length = [40, 12, 12, 48, 100][step % 5]
            let ours = try #require(DTLSLibraryContext.tls12PRF(
                secret: secrets[index], label: label, seed: seed, length: length, openSSLDefault: false))
            let openSSL = try #require(DTLSLibraryContext.tls12PRF(
                secret: secrets[index], label: label, seed: seed, length: length, openSSLDefault: true))
            #expect(ours.provider == "lwm2m-prf")
            #expect(ours.output == openSSL.output, "step \(step), secret \(index)")
        }
    }

    @Test("EC keys generated through the provider (ready P-256 group) match OpenSSL's: group, encoding, ECDH both ways")
    func ecKeyGenerationMatchesOpenSSL() {
        // P-256 by either of its names takes the ready group; P-384 is built from its name by the default code.
        for group in ["P-256", "prime256v1", "PRIME256V1", "P-384", "secp521r1"] {
            for _ in 0..<10 {
                let check = DTLSLibraryContext.checkECKeyGeneration(group: group)
                #expect(check.result == 1, "group \(group)")
                #expect(check.provider == "lwm2m-prf", "group \(group)")
            }
        }
    }

    @Test("Remembered cookies equal computed ones; a cookie stays bound to its peer and secret")
    func cookieMemo() throws {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let memoized = try #require(CookieKey(secret: secret))
        let other = try #require(CookieKey(secret: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        // IPv4- and IPv6-sized peer keys, more of them than the memo holds, asked for in an interleaved order.
        let peers = (0..<20).map { index in (0..<(index % 2 == 0 ? 7 : 23)).map { _ in UInt8(index) } }
        let order = Array(0..<20) + [0, 1, 19, 18, 0, 0, 5, 12, 19, 3] + Array((0..<20).reversed())
        for index in order {
            let fresh = try #require(CookieKey(secret: secret))  // computes: nothing remembered yet
            var expected = [UInt8](repeating: 0, count: CookieKey.length)
            var made = [UInt8](repeating: 0, count: CookieKey.length)
            expected.withUnsafeMutableBufferPointer { fresh.writeCookie(for: peers[index], to: $0.baseAddress!) }
            made.withUnsafeMutableBufferPointer { memoized.writeCookie(for: peers[index], to: $0.baseAddress!) }
            #expect(made == expected, "peer \(index)")
            #expect(made.withUnsafeBufferPointer { memoized.verify($0.baseAddress!, for: peers[index]) })
            #expect(!made.withUnsafeBufferPointer { memoized.verify($0.baseAddress!, for: peers[(index + 1) % 20]) })
            #expect(!made.withUnsafeBufferPointer { other.verify($0.baseAddress!, for: peers[index]) })
            var altered = made
            altered[15] ^= 0x01
            #expect(!altered.withUnsafeBufferPointer { memoized.verify($0.baseAddress!, for: peers[index]) })
        }
    }

    @Test("The provider's public-key check decides as OpenSSL's full check: decoded, generated, off-curve, infinity")
    func ecPublicCheckMatchesOpenSSL() throws {
        // kind: expected decision (0 decoded and 1 generated keys are valid; 2 off the curve and 3 infinity are not;
        // 4, x given as x + p, is reduced when set and so valid for both).
        for (kind, expected) in [(0, 1), (1, 1), (2, 0), (3, 0), (4, 1)] as [(Int32, Int32)] {
            for _ in 0..<5 {
                let check = try #require(DTLSLibraryContext.compareECPublicCheck(kind: kind), "kind \(kind)")
                #expect(check.ours == check.reference, "kind \(kind)")
                #expect(check.ours == expected, "kind \(kind)")
            }
        }
    }

    @Test("A reused connection carries nothing of its previous peer: identity, data, resumption, a wrong key")
    func reusedConnections() async throws {
        let deviceA = BackToBack.address(41001)
        let deviceB = BackToBack.address(41002)
        let deviceC = BackToBack.address(41003)
        let cacheA = DTLSClientSessionCache()
        let pair = try BackToBack(server: pskServerConfiguration { $0.handshakeTimeout = .seconds(5) })

        // A connects and closes: its connection is kept for reuse.
        let firstA = try pair.addClient(at: deviceA, configuration: pskClientConfiguration(), cache: cacheA)
        pair.start(deviceA)
        await pair.run { pair.established(deviceA) }
        pair.handleClient(deviceA, firstA.close())
        pair.settle()
        #expect(pair.server.liveConnections == 0)
        #expect(pair.server.spareConnectionCount == 1)

        // B (another identity): B's identity, a full handshake, data both ways.
        try pair.addClient(at: deviceB, configuration: pskClientConfiguration(identity: "device-2"))
        pair.start(deviceB)
        await pair.run { pair.established(deviceB) }
        // Accepting B made A's old connection the listener: the next peer (A again, below) runs on it.
        #expect(pair.server.spareConnectionCount == 0)
        #expect(pair.serverIdentity(deviceB) == .psk(identity: "device-2"))
        #expect(pair.serverResumed(deviceB) == [false])
        pair.clientSend(deviceB, "from B")
        try pair.serverSend(deviceB, "to B")
        pair.settle()
        #expect(pair.serverPlaintexts(from: deviceB) == ["from B"])
        #expect(pair.clientPlaintexts(deviceB) == ["to B"])
        pair.handleClient(deviceB, pair.clients[deviceB]!.close())
        pair.settle()

        // A resumes on its own old, cleared connection (its session lives on in the server's cache), as device-1.
        let secondA = try pair.addClient(at: deviceA, configuration: pskClientConfiguration(), cache: cacheA)
        pair.start(deviceA)
        await pair.run { pair.established(deviceA) }
        #expect(secondA.lastHandshakeResumed)
        #expect(pair.serverResumed(deviceA) == [false, true])
        let identities = pair.serverOutputs.compactMap { output -> CoAPPeerIdentity? in
            if case .established(let peer, let identity, _) = output, peer == deviceA { return identity }
            return nil
        }
        #expect(identities == [.psk(identity: "device-1"), .psk(identity: "device-1")])

        // A wrong key on a reused connection (B's old one) still fails; the next good handshake still works.
        try pair.addClient(at: deviceC, configuration: pskClientConfiguration(identity: "device-2", key: Array("wrong".utf8)) {
            $0.handshakeTimeout = .seconds(5)
        })
        pair.start(deviceC)
        await pair.run { pair.serverFailure(deviceC) != nil && pair.clientFailure(deviceC) != nil }
        #expect(pair.serverFailure(deviceC)?.code == .handshakeTimedOut)
        #expect(!pair.server.isEstablished(deviceC))
        try pair.addClient(at: deviceC, configuration: pskClientConfiguration(identity: "device-2"))
        pair.start(deviceC)
        await pair.run { pair.established(deviceC) }
        #expect(pair.serverIdentity(deviceC) == .psk(identity: "device-2"))
        #expect(pair.server.statistics.fullHandshakes == 3)
        #expect(pair.server.statistics.resumedHandshakes == 1)
    }

    @Test("A sent datagram's buffer carries a later datagram: the same bytes, a buffer still held is never overwritten")
    func recycledDatagramBuffers() throws {
        let client = BackToBack.address(41011)
        let pair = try BackToBack(server: pskServerConfiguration())
        try pair.addClient(at: client, configuration: pskClientConfiguration())
        pair.filter = { _, _, _ in [] }  // deliver by hand
        pair.start(client)
        let hello = try #require(pair.wire.last?.2)

        // A HelloVerifyRequest written into a fresh buffer, then into the recycled one: the same bytes (the cookie
        // and the record sequence number come from the same ClientHello).
        guard case .datagram(let first, _) = pair.server.receive(hello, from: client, now: pair.now).first else {
            Issue.record("no HelloVerifyRequest")
            return
        }
        let firstBytes = Array(first.readableBytesView)
        pair.server.recycleDatagramBuffer(first)
        #expect(pair.server.recycledDatagramBufferCount == 1)
        guard case .datagram(let second, _) = pair.server.receive(hello, from: client, now: pair.now).first else {
            Issue.record("no second HelloVerifyRequest")
            return
        }
        #expect(pair.server.recycledDatagramBufferCount == 0)
        #expect(Array(second.readableBytesView) == firstBytes)
        // `first` was still held here: writing the second datagram did not change it.
        #expect(Array(first.readableBytesView) == firstBytes)
        #expect(second.firstRecordKinds.handshakeType == 3)

        // The whole handshake and data both ways still work with every server datagram's buffer given back as
        // soon as it is on the wire (a copy travels on).
        let server = pair.server
        pair.filter = { direction, _, datagram in
            guard direction == .toClient else { return [datagram] }
            let copy = ByteBuffer(bytes: Array(datagram.readableBytesView))
            server.recycleDatagramBuffer(datagram)
            return [copy]
        }
        pair.handleClient(client, pair.clients[client]!.receive(second, now: pair.now))
        pair.settle()
        #expect(pair.established(client))
        try pair.serverSend(client, "to the client")
        pair.clientSend(client, "to the server")
        pair.settle()
        #expect(pair.clientPlaintexts(client) == ["to the client"])
        #expect(pair.serverPlaintexts(from: client) == ["to the server"])
        #expect(pair.server.recycledDatagramBufferCount > 0)
    }

    @Test("The datagram buffer pool keeps at most 16 buffers, none larger than 4 KB, and hands them out empty")
    func datagramBufferPoolBounds() {
        let pool = DatagramBufferPool()
        for _ in 0..<20 {
            var buffer = ByteBufferAllocator().buffer(capacity: 1232)
            buffer.writeString("previous datagram")
            pool.give(buffer)
        }
        #expect(pool.count == DatagramBufferPool.limit)
        pool.give(ByteBufferAllocator().buffer(capacity: 16_384))
        #expect(pool.count == DatagramBufferPool.limit)
        let taken = pool.take(capacity: 1232)
        #expect(taken.readableBytes == 0 && taken.capacity >= 1232)
        #expect(pool.count == DatagramBufferPool.limit - 1)
        let larger = pool.take(capacity: 3000)
        #expect(larger.readableBytes == 0 && larger.capacity >= 3000)
        while pool.count > 0 { _ = pool.take(capacity: 1) }
        #expect(pool.take(capacity: 100).capacity >= 100)
    }
}
