import CoAPCore
import DTLSTransport
import Foundation
import NIOCore
import Testing

/// Whether a CoAP/UDP transport can bind `port` on 127.0.0.1 too (a chosen port, as a second server would ask).
private func canShare(_ port: Int) async -> Bool {
    guard let second = try? await CoAPUDPTransport.bind(host: "127.0.0.1", port: port) else { return false }
    await second.close()
    return true
}

/// Port 0 is how every test server gets its port: the system picks one no other socket holds, the server reports
/// it, and nothing else can bind it while the server runs (Linux lets SO_REUSEADDR sockets share a UDP port, so a
/// port-0 bind with SO_REUSEADDR could land on another server's port or let one land on its own). The transports
/// never set SO_REUSEADDR, so a second server on a chosen port fails instead of sharing it.
@Suite("Port 0: servers report the port they bound and hold it alone")
struct ListeningPortTests {
    @Test("CoAPUDPTransport and DTLSServerTransport on port 0: a real port that a second socket cannot bind")
    func transportsHoldTheirPort() async throws {
        let udp = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let dtls = try await DTLSServerTransport.bind(
            host: "127.0.0.1", port: 0, configuration: .server(psk: DTLSClosurePSKStore { _ in nil }))
        let ports = [udp.localAddress.port, dtls.localAddress.port].compactMap { $0 }
        #expect(ports.count == 2 && !ports.contains(0) && ports[0] != ports[1])
        for port in ports { #expect(await canShare(port) == false, "port \(port) was bound twice") }
        await udp.close()
        await dtls.close()
    }

    @Test("A second transport on a port a server holds fails to bind instead of sharing it")
    func chosenPortIsNotShared() async throws {
        let first = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let port = try #require(first.localAddress.port)
        await #expect(throws: (any Error).self) {
            let second = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: port)
            await second.close()
        }
        await #expect(throws: (any Error).self) {
            let second = try await DTLSServerTransport.bind(
                host: "127.0.0.1", port: port, configuration: .server(psk: DTLSClosurePSKStore { _ in nil }))
            await second.close()
        }
        await first.close()
        // Once closed, the port is free again at once (UDP has no TIME_WAIT): a restarted server gets it back.
        let again = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: port)
        #expect(again.localAddress.port == port)
        await again.close()
    }

    @Test(
        "lwm2m-server --coap-port 0 --coaps-port 0 reports the ports it bound; no other socket can bind them",
        .enabled(if: serverBinary != nil, "lwm2m-server is not built"))
    func serverReportsBoundPorts() async throws {
        let (server, addresses) = try await startServer(Credentials.pskArguments, coaps: true)
        defer { server.kill() }
        let ports = addresses.compactMap(port(of:))
        #expect(ports.count == 2 && ports[0] != ports[1])
        for port in ports { #expect(await canShare(port) == false, "port \(port) was bound twice") }
    }

    @Test(
        "lwm2m-bootstrap --coap-port 0 --coaps-port 0 reports the ports it bound; no other socket can bind them",
        .enabled(if: bootstrapBinary != nil, "lwm2m-bootstrap is not built"))
    func bootstrapReportsBoundPorts() async throws {
        let bootstrap = try ChildProcess(
            bootstrapBinary,
            ["--host", "127.0.0.1", "--coap-port", "0", "--coaps-port", "0", "--server-uri", "coap://127.0.0.1:9"]
                + Credentials.pskArguments)
        defer { bootstrap.kill() }
        let addresses = try await bootstrapAddresses(bootstrap)
        #expect(addresses.map { $0.hasPrefix("coaps:") } == [false, true], "\(addresses)")
        let ports = addresses.compactMap(port(of:))
        #expect(ports.count == 2 && ports[0] != ports[1])
        for port in ports { #expect(await canShare(port) == false, "port \(port) was bound twice") }
    }
}
