import LwM2MTestPKI
import CoAPCore
import DTLSTransport
import NIOCore
import Testing

let testKey: [UInt8] = Array("secretPSK-test-0123456789".utf8)

func pskServerConfiguration(_ tweak: (inout DTLSConfiguration) -> Void = { _ in }) -> DTLSConfiguration {
    var configuration = DTLSConfiguration.server(psk: DTLSStaticPSKStore(["device-1": testKey, "device-2": testKey]))
    tweak(&configuration)
    return configuration
}

func pskClientConfiguration(
    identity: String = "device-1", key: [UInt8] = testKey, _ tweak: (inout DTLSConfiguration) -> Void = { _ in }
) -> DTLSConfiguration {
    var configuration = DTLSConfiguration.client(pskIdentity: identity, key: key)
    tweak(&configuration)
    return configuration
}

@Suite("DTLS handshakes in memory")
struct DTLSHandshakeTests {
    let client = BackToBack.address(40001)

    @Test("PSK handshake, data both ways, identity exposed, CCM_8 negotiated")
    func pskHandshake() async throws {
        let pair = try BackToBack(server: pskServerConfiguration())
        try pair.addClient(at: client, configuration: pskClientConfiguration())
        pair.start(client)
        await pair.run { pair.established(client) }
        #expect(pair.established(client))
        #expect(pair.server.cipherSuite(of: client) == "PSK-AES128-CCM8")
        #expect(pair.serverIdentity(client) == .psk(identity: "device-1"))
        pair.clientSend(client, "hello server")
        try pair.serverSend(client, "hello device")
        pair.settle()
        #expect(pair.serverPlaintexts(from: client) == ["hello server"])
        #expect(pair.clientPlaintexts(client) == ["hello device"])
        #expect(pair.server.statistics.fullHandshakes == 1)
        // Application data on the wire is encrypted: no plaintext bytes appear in it.
        let onWire = pair.wire.map { String(decoding: $0.2.readableBytesView, as: UTF8.self) }
        #expect(!onWire.contains { $0.contains("hello") })
        // A plaintext beyond maximumPlaintextSize (2048 by default) is refused, the association stays.
        #expect(throws: DTLSError(code: .closed, reason: "")) {
            try pair.server.send(ByteBuffer(repeating: 1, count: 3000), to: client, now: pair.now).get()
        }
        #expect(pair.server.isEstablished(client))
    }

    @Test("Only the CBC suite offered: TLS_PSK_WITH_AES_128_CBC_SHA256 is negotiated")
    func pskCBC() async throws {
        let pair = try BackToBack(server: pskServerConfiguration())
        try pair.addClient(at: client, configuration: pskClientConfiguration { $0.cipherSuites = [.pskWithAES128CBCSHA256] })
        pair.start(client)
        await pair.run { pair.established(client) }
        #expect(pair.server.cipherSuite(of: client) == "PSK-AES128-CBC-SHA256")
    }

    @Test("A wrong PSK key times out on both sides with \"possibly wrong credentials\"")
    func wrongKey() async throws {
        let slowRetransmission: (inout DTLSConfiguration) -> Void = {
            $0.handshakeTimeout = .seconds(10)
            $0.initialRetransmissionTimeout = .seconds(60)  // the virtual handshake timeout comes first
        }
        let pair = try BackToBack(server: pskServerConfiguration(slowRetransmission))
        try pair.addClient(at: client, configuration: pskClientConfiguration(key: Array("wrong".utf8), slowRetransmission))
        pair.start(client)
        await pair.run(limit: .seconds(30)) { pair.clientFailure(client) != nil && pair.serverFailure(client) != nil }
        let clientError = try #require(pair.clientFailure(client))
        #expect(clientError.code == .handshakeTimedOut)
        #expect(clientError.reason.contains("possibly wrong credentials"))
        let serverError = try #require(pair.serverFailure(client))
        #expect(serverError.code == .handshakeTimedOut)
        #expect(serverError.reason.contains("possibly wrong credentials"))
        #expect(serverError.reason.contains("device-1"))
        #expect(pair.server.liveConnections == 0)
        #expect(pair.server.statistics.failedHandshakes == 1)
    }

    @Test("An unknown PSK identity fails at once with an alert")
    func unknownIdentity() async throws {
        let pair = try BackToBack(server: pskServerConfiguration())
        try pair.addClient(at: client, configuration: pskClientConfiguration(identity: "nobody"))
        pair.start(client)
        await pair.run(limit: .seconds(5)) { pair.clientFailure(client) != nil }
        let error = try #require(pair.clientFailure(client))
        #expect(error.code == .handshakeFailed)
        #expect(pair.serverFailure(client)?.reason.contains("unknown PSK identity") == true)
    }

    @Test("Certificates: server verified against the CA, client certificate CN exposed as the identity")
    func certificateHandshake() async throws {
        let pki = TestPKI.shared
        let server = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey,
            trustAnchorsPEM: pki.caCertificate, requirePeerCertificate: true))
        let pair = try BackToBack(server: server)
        try pair.addClient(at: client, configuration: DTLSConfiguration(
            certificates: DTLSCertificateConfiguration(
                certificateChainPEM: pki.deviceCertificate, privateKeyPEM: pki.deviceKey,
                trustAnchorsPEM: pki.caCertificate),
            expectedServerName: "localhost"))
        pair.start(client)
        await pair.run { pair.established(client) }
        #expect(pair.established(client))
        #expect(pair.server.cipherSuite(of: client) == "ECDHE-ECDSA-AES128-CCM8")
        #expect(pair.serverIdentity(client) == .certificate(commonName: "device-1"))
        #expect(pair.clients[client]?.peerIdentity == .certificate(commonName: "localhost"))
        pair.clientSend(client, "over x509")
        pair.settle()
        #expect(pair.serverPlaintexts(from: client) == ["over x509"])
    }

    @Test("Certificates: with optional client certificates a client without one connects anonymously")
    func optionalClientCertificate() async throws {
        let pki = TestPKI.shared
        let server = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey,
            trustAnchorsPEM: pki.caCertificate, requirePeerCertificate: false))
        let pair = try BackToBack(server: server)
        try pair.addClient(at: client, configuration: DTLSConfiguration(
            certificates: DTLSCertificateConfiguration(trustAnchorsPEM: pki.caCertificate)))
        pair.start(client)
        await pair.run { pair.established(client) }
        #expect(pair.established(client))
        #expect(pair.server.identity(of: client) == nil)

        // The same server refuses a client certificate it cannot verify.
        let stranger = BackToBack.address(40002)
        try pair.addClient(at: stranger, configuration: DTLSConfiguration(
            certificates: DTLSCertificateConfiguration(
                certificateChainPEM: pki.strangerCertificate, privateKeyPEM: pki.strangerKey,
                trustAnchorsPEM: pki.caCertificate)))
        pair.start(stranger)
        await pair.run(limit: .seconds(5)) { pair.serverFailure(stranger) != nil }
        #expect(pair.serverFailure(stranger)?.code == .certificateVerificationFailed)
    }

    @Test("The MTU answer of the datagram BIO fragments a certificate flight into small datagrams")
    func smallMTU() async throws {
        let pki = TestPKI.shared
        var server = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey,
            trustAnchorsPEM: pki.caCertificate, requirePeerCertificate: true))
        server.maximumDatagramSize = 256
        var device = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.deviceCertificate, privateKeyPEM: pki.deviceKey, trustAnchorsPEM: pki.caCertificate))
        device.maximumDatagramSize = 256
        let pair = try BackToBack(server: server)
        try pair.addClient(at: client, configuration: device)
        pair.start(client)
        await pair.run { pair.established(client) }
        #expect(pair.established(client))
        #expect(pair.wire.allSatisfy { $0.2.readableBytes <= 256 })
        // The certificate flights needed several datagrams each.
        #expect(pair.wire.filter { $0.0 == .toClient }.count >= 4)
    }

    @Test("Certificates: a server certificate from an untrusted CA is rejected by the client")
    func wrongCA() async throws {
        let pki = TestPKI.shared
        let server = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey))
        let pair = try BackToBack(server: server)
        try pair.addClient(at: client, configuration: DTLSConfiguration(
            certificates: DTLSCertificateConfiguration(trustAnchorsPEM: pki.otherCACertificate)))
        pair.start(client)
        await pair.run(limit: .seconds(5)) { pair.clientFailure(client) != nil && pair.serverFailure(client) != nil }
        #expect(pair.clientFailure(client)?.code == .certificateVerificationFailed)
        #expect(pair.serverFailure(client)?.reason.contains("peer sent alert") == true)
        #expect(pair.server.liveConnections == 0)
    }

    @Test("Certificates: a client certificate from an untrusted CA is rejected by the server")
    func untrustedClientCertificate() async throws {
        let pki = TestPKI.shared
        let server = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey,
            trustAnchorsPEM: pki.caCertificate, requirePeerCertificate: true))
        let pair = try BackToBack(server: server)
        try pair.addClient(at: client, configuration: DTLSConfiguration(
            certificates: DTLSCertificateConfiguration(
                certificateChainPEM: pki.strangerCertificate, privateKeyPEM: pki.strangerKey,
                trustAnchorsPEM: pki.caCertificate)))
        pair.start(client)
        await pair.run(limit: .seconds(5)) { pair.serverFailure(client) != nil }
        #expect(pair.serverFailure(client)?.code == .certificateVerificationFailed)
        #expect(!pair.established(client))
    }

    @Test("Lost flights are retransmitted", arguments: [0, 1, 2, 3])
    func lostFlight(dropIndex: Int) async throws {
        let fast: (inout DTLSConfiguration) -> Void = { $0.initialRetransmissionTimeout = .milliseconds(20) }
        let pair = try BackToBack(server: pskServerConfiguration(fast))
        try pair.addClient(at: client, configuration: pskClientConfiguration(fast))
        // Drop the n-th datagram put on the wire (0: first ClientHello, 1: HelloVerifyRequest, 2: ClientHello with
        // cookie, 3: the server's flight 4).
        var count = 0
        pair.filter = { _, _, datagram in
            defer { count += 1 }
            return count == dropIndex ? [] : [datagram]
        }
        pair.start(client)
        await pair.run(limit: .seconds(30)) { pair.established(client) }
        #expect(pair.established(client))
        #expect(count > 6)  // at least one retransmission happened
    }

    @Test("Every datagram duplicated: the handshake and the data still arrive once")
    func duplicatedFlights() async throws {
        let pair = try BackToBack(server: pskServerConfiguration())
        try pair.addClient(at: client, configuration: pskClientConfiguration())
        pair.filter = { _, _, datagram in [datagram, datagram] }
        pair.start(client)
        await pair.run { pair.established(client) }
        #expect(pair.established(client))
        pair.clientSend(client, "once")
        pair.settle()
        #expect(pair.serverPlaintexts(from: client) == ["once"])
        #expect(pair.server.statistics.fullHandshakes == 1)
    }
}
