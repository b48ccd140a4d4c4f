import LwM2MTestPKI
import CoAPCore
import DTLSTransport
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Answers every confirmable GET with 2.05 and the text "hello <identity>" (a stand-in for the CoAP endpoint).
func startTinyResponder(_ transport: any CoAPTransport) -> Task<Void, Never> {
    Task {
        for await datagram in transport.inbound {
            guard let request = try? CoAPMessage(decoding: datagram.data), request.code == .get else { continue }
            let who: String
            switch datagram.peerIdentity {
            case .psk(let identity): who = "psk:\(identity)"
            case .certificate(let name): who = "cert:\(name)"
            case nil: who = "anonymous"
            }
            let response = CoAPMessage(
                type: request.type == .confirmable ? .acknowledgement : .nonConfirmable, code: .content,
                messageID: request.messageID, token: request.token, payload: ByteBuffer(string: "hello \(who)"))
            transport.send(CoAPDatagram(remote: datagram.remote, data: response.encoded()))
        }
    }
}

let libcoapMissing = "libcoap3-bin is not installed (scripts/test.sh installs it)"
let interopKeyText = "interop-secret-key"

@Suite("DTLS over real UDP with libcoap and our own transports", .serialized)
struct DTLSInteropTests {
    func pskServer() async throws -> DTLSServerTransport {
        try await DTLSServerTransport.bind(
            host: "127.0.0.1", port: 0,
            configuration: .server(psk: DTLSStaticPSKStore(["device-1": Array(interopKeyText.utf8)])))
    }

    @Test("coap-client with PSK against our server transport", arguments: ["coap-client-openssl", "coap-client-gnutls"])
    func libcoapClientPSK(client: String) async throws {
        try #require(ProcessRunner.exists(client), "\(libcoapMissing)")
        let server = try await pskServer()
        let responder = startTinyResponder(server)
        defer { responder.cancel() }
        let port = server.localAddress.port!
        let result = try await ProcessRunner.run([
            client, "-B", "10", "-k", interopKeyText, "-u", "device-1", "coaps://127.0.0.1:\(port)/test",
        ])
        await server.close()
        #expect(result.stdout.contains("hello psk:device-1"), "stdout: \(result.stdout) stderr: \(result.stderr)")
    }

    @Test("coap-client with a wrong PSK key gets no answer", arguments: ["coap-client-openssl"])
    func libcoapClientWrongKey(client: String) async throws {
        try #require(ProcessRunner.exists(client), "\(libcoapMissing)")
        let server = try await pskServer()
        let responder = startTinyResponder(server)
        defer { responder.cancel() }
        let port = server.localAddress.port!
        let result = try await ProcessRunner.run([
            client, "-B", "2", "-k", "not-the-key", "-u", "device-1", "coaps://127.0.0.1:\(port)/test",
        ])
        await server.close()
        #expect(!result.stdout.contains("hello"))
    }

    @Test("coap-client with certificates against our server transport",
          arguments: ["coap-client-openssl", "coap-client-gnutls"])
    func libcoapClientCertificates(client: String) async throws {
        try #require(ProcessRunner.exists(client), "\(libcoapMissing)")
        let pki = TestPKI.shared
        let server = try await DTLSServerTransport.bind(
            host: "127.0.0.1", port: 0,
            configuration: DTLSConfiguration(certificates: DTLSCertificateConfiguration(
                certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey,
                trustAnchorsPEM: pki.caCertificate, requirePeerCertificate: true)))
        let responder = startTinyResponder(server)
        defer { responder.cancel() }
        let port = server.localAddress.port!
        let result = try await ProcessRunner.run([
            client, "-B", "10", "-c", pki.path("device.pem"), "-j", pki.path("device.key"),
            "-C", pki.path("ca.pem"), "coaps://127.0.0.1:\(port)/test",
        ])
        await server.close()
        #expect(result.stdout.contains("hello cert:device-1"), "stdout: \(result.stdout) stderr: \(result.stderr)")
    }

    /// The interop PSK as hex, for command-line clients.
    static var interopKeyHex: String { interopKeyText.utf8.map { String(format: "%02x", $0) }.joined() }

    /// Runs a command-line client against a PSK server transport on a free port; returns its stdout and stderr.
    func runAgainstPSKServer(_ arguments: (_ port: Int) -> [String]) async throws -> ClientOutput {
        let server = try await pskServer()
        let result = try await ProcessRunner.run(arguments(server.localAddress.port!))
        await server.close()
        return ClientOutput(text: result.stdout + result.stderr)
    }

    /// A client's output, with a count of the times a text occurs in it.
    struct ClientOutput {
        let text: String
        func count(_ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }
    }

    @Test("openssl s_client resumes five times, each without a HelloVerifyRequest (RFC 6347 section 4.2.1)")
    func opensslClientResumesWithoutCookie() async throws {
        try #require(ProcessRunner.exists("openssl"), "openssl is not installed (scripts/test.sh installs it)")
        // -reconnect: after the first handshake, five more connections offering the same session; -trace names
        // every handshake message received.
        let output = try await runAgainstPSKServer { port in [
            "openssl", "s_client", "-dtls1_2", "-connect", "127.0.0.1:\(port)", "-psk_identity", "device-1",
            "-psk", Self.interopKeyHex, "-cipher", "PSK-AES128-CCM8", "-reconnect", "-trace",
        ] }
        #expect(output.count("New, TLSv1.2, Cipher is PSK-AES128-CCM8") == 1, "\(output.text)")
        #expect(output.count("Reused, TLSv1.2, Cipher is PSK-AES128-CCM8") == 5)
        #expect(output.count("HelloVerifyRequest, Length") == 1)  // the first, full handshake only
        #expect(output.count("ServerHello, Length") == 6)
    }

    @Test("gnutls-cli resumes its session without a HelloVerifyRequest (RFC 6347 section 4.2.1)")
    func gnutlsClientResumesWithoutCookie() async throws {
        try #require(ProcessRunner.exists("gnutls-cli"), "gnutls-bin is not installed (scripts/test.sh installs it)")
        let output = try await runAgainstPSKServer { port in [
            "gnutls-cli", "-d", "4", "--udp", "--resume", "--pskusername", "device-1", "--pskkey", Self.interopKeyHex,
            "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:+AES-128-CCM-8", "-p", "\(port)", "127.0.0.1",
        ] }
        #expect(output.count("*** This is a resumed session") == 1, "\(output.text)")
        #expect(output.count("HELLO VERIFY REQUEST (3) was received") == 1)  // the first, full handshake only
        // The message_seq of each ServerHello: 1 after the HelloVerifyRequest of the full handshake, 0 in the
        // resumed one, where it is the server's first message.
        let serverHelloSequences = output.text.split(separator: "\n")
            .filter { $0.contains("SERVER HELLO (2) was received") }
            .compactMap { $0.split(separator: "sequence: ").last.flatMap { Int($0.prefix { $0.isNumber }) } }
        #expect(serverHelloSequences == [1, 0])
    }

    @Test("Our client transport against coap-server-openssl with PSK")
    func ourClientAgainstLibcoapServer() async throws {
        try #require(ProcessRunner.exists("coap-server-openssl"), "\(libcoapMissing)")
        let server = try await LibcoapServer.start(
            "coap-server-openssl", ["-k", interopKeyText, "-h", "swift-lwm2m"], dtls: true)
        defer { server.stop() }
        var configuration = DTLSConfiguration.client(pskIdentity: "device-1", key: Array(interopKeyText.utf8))
        configuration.initialRetransmissionTimeout = .milliseconds(200)
        configuration.handshakeTimeout = .seconds(2)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: try #require(server.dtlsPort))
        // The server process needs a moment to bind: retry the handshake a few times.
        var transport: DTLSClientTransport?
        for _ in 0..<10 where transport == nil {
            transport = try? await DTLSClientTransport.connect(to: address, configuration: configuration)
        }
        let client = try #require(transport)
        let request = CoAPMessage(type: .confirmable, code: .get, messageID: 0x1234, token: CoAPToken(value: 7, length: 2))
        client.send(CoAPDatagram(remote: address, data: request.encoded()))
        var response: CoAPMessage?
        for await datagram in client.inbound {
            response = try CoAPMessage(decoding: datagram.data)
            #expect(datagram.peerIdentity == .psk(identity: "device-1"))
            break
        }
        await client.close()
        let message = try #require(response)
        #expect(message.code == .content)
        #expect(message.messageID == 0x1234)
        #expect(String(buffer: message.payload).contains("libcoap"))
    }

    @Test("Our client transport against our server transport: data, resumption, wrong key")
    func ourClientAgainstOurServer() async throws {
        let server = try await pskServer()
        let responder = startTinyResponder(server)
        defer { responder.cancel() }
        let cache = DTLSClientSessionCache()
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: server.localAddress.port!)
        let configuration = DTLSConfiguration.client(pskIdentity: "device-1", key: Array(interopKeyText.utf8))
        for round in 0..<2 {
            let client = try await DTLSClientTransport.connect(to: address, configuration: configuration, sessionCache: cache)
            #expect(client.resumedSession == (round == 1))
            let request = CoAPMessage(type: .confirmable, code: .get, messageID: UInt16(round), token: CoAPToken(value: 1))
            client.send(CoAPDatagram(remote: address, data: request.encoded()))
            var payload = ""
            for await datagram in client.inbound {
                payload = String(buffer: try CoAPMessage(decoding: datagram.data).payload)
                break
            }
            #expect(payload == "hello psk:device-1")
            await client.close()
        }
        var wrong = DTLSConfiguration.client(pskIdentity: "device-1", key: Array("wrong".utf8))
        wrong.initialRetransmissionTimeout = .milliseconds(100)
        wrong.handshakeTimeout = .milliseconds(600)
        await #expect(throws: DTLSError(code: .handshakeTimedOut, reason: "")) {
            _ = try await DTLSClientTransport.connect(to: address, configuration: wrong)
        }
        await server.close()
    }
}
