import CoAPCore
import LwM2MTestPKI
import DTLSTransport
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Whether a UDP socket can bind `::1` here (containers sometimes run without IPv6).
private let hasIPv6Loopback: Bool = {
    guard let channel = try? DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "::1", port: 0).wait()
    else { return false }
    try? channel.close().wait()
    return true
}()

@Suite("DTLS over IPv6 and the default datagram sizes per address family")
struct DTLSAddressFamilyTests {
    @Test("PSK handshake and a CoAP GET over ::1 between our transports",
          .enabled(if: hasIPv6Loopback, "this machine has no IPv6 loopback (::1 cannot be bound)"))
    func ipv6Loopback() async throws {
        let key = Array("ipv6-test-key".utf8)
        let server = try await DTLSServerTransport.bind(
            host: "::1", port: 0, configuration: .server(psk: DTLSStaticPSKStore(["v6-device": key])))
        #expect(server.localAddress.protocol == .inet6)
        let serverEndpoint = CoAPEndpoint(transport: server)
        await serverEndpoint.register("/ping") { request in
            guard case .psk(let identity)? = request.peerIdentity else { throw CoAPError.unauthorized("no identity") }
            return .response(.content, text: "pong \(identity) \(request.peer.protocol == .inet6 ? "v6" : "v4")")
        }
        let client = try await DTLSClientTransport.connect(
            to: try SocketAddress(ipAddress: "::1", port: server.localAddress.port!),
            configuration: .client(pskIdentity: "v6-device", key: key))
        #expect(client.localAddress.protocol == .inet6)
        #expect(client.serverIdentity == .psk(identity: "v6-device"))
        let clientEndpoint = CoAPEndpoint(transport: client)
        let response = try await clientEndpoint.request(.request(.get, path: "/ping"), to: client.server, timeout: .seconds(10))
        #expect(response.code == .content)
        #expect(String(buffer: response.payload) == "pong v6-device v6")
        await clientEndpoint.close()
        await serverEndpoint.close()
        await client.close()
        await server.close()
    }

    @Test("ECDHE-ECDSA handshake between our transports over ::1: the client verifies the server's chain and name",
          .enabled(if: hasIPv6Loopback, "this machine has no IPv6 loopback (::1 cannot be bound)"))
    func ipv6Certificates() async throws {
        let pki = TestPKI.shared
        let server = try await DTLSServerTransport.bind(
            host: "::1", port: 0, configuration: DTLSConfiguration(certificates: DTLSCertificateConfiguration(
                certificateChainPEM: pki.serverCertificate, privateKeyPEM: pki.serverKey, requirePeerCertificate: false)))
        var configuration = DTLSConfiguration(
            certificates: DTLSCertificateConfiguration(trustAnchorsPEM: pki.caCertificate))
        configuration.expectedServerName = "localhost"
        let client = try await DTLSClientTransport.connect(
            to: try SocketAddress(ipAddress: "::1", port: server.localAddress.port!), configuration: configuration)
        guard case .certificate(let commonName)? = client.serverIdentity else {
            Issue.record("no certificate identity: \(String(describing: client.serverIdentity))")
            return
        }
        #expect(commonName == "localhost")
        await client.close()
        await server.close()
    }

    /// A certificate flight far larger than any datagram (the chain repeats the CAs), so the server's
    /// Certificate message is fragmented at the path's datagram size.
    private func largestServerDatagram(to client: SocketAddress, maximumDatagramSize: Int? = nil) async throws -> Int {
        let pki = TestPKI.shared
        let chain = pki.serverCertificate + String(repeating: pki.caCertificate + pki.otherCACertificate, count: 2)
        var server = DTLSConfiguration(certificates: DTLSCertificateConfiguration(
            certificateChainPEM: chain, privateKeyPEM: pki.serverKey, requirePeerCertificate: false))
        server.maximumDatagramSize = maximumDatagramSize
        let pair = try BackToBack(server: server)
        try pair.addClient(at: client, configuration: DTLSConfiguration(
            certificates: DTLSCertificateConfiguration(trustAnchorsPEM: pki.caCertificate)))
        pair.start(client)
        await pair.run { pair.established(client) }
        #expect(pair.established(client))
        let toClient = pair.wire.filter { $0.0 == .toClient }.map(\.2.readableBytes)
        #expect(toClient.count >= 4)  // the chain needed several datagrams
        return toClient.max() ?? 0
    }

    @Test("IPv4 paths default to 1452-byte datagrams (1500 MTU minus IPv4 and UDP headers)")
    func ipv4Default() async throws {
        let largest = try await largestServerDatagram(to: try SocketAddress(ipAddress: "10.0.0.7", port: 40_007))
        #expect(largest <= 1452)
        #expect(largest > 1232)  // fragments fill the IPv4 size, not the smaller IPv6 one
    }

    @Test("IPv6 paths default to 1232-byte datagrams (1280 minimum MTU minus IPv6 and UDP headers)")
    func ipv6Default() async throws {
        let largest = try await largestServerDatagram(to: try SocketAddress(ipAddress: "fd00::7", port: 40_008))
        #expect(largest <= 1232)
        #expect(largest > 1100)
    }

    @Test("maximumDatagramSize overrides both defaults")
    func explicitSize() async throws {
        let largest = try await largestServerDatagram(
            to: try SocketAddress(ipAddress: "fd00::8", port: 40_009), maximumDatagramSize: 600)
        #expect(largest <= 600)
        #expect(largest > 500)
    }
}
