import CoAPCore
import DTLSTransport
import Foundation
import LwM2MTestPKI
import NIOCore
import NIOPosix
import Testing

/// What a client engine on a plain UDP socket saw of a `DTLSServerTransport`.
private struct Observed: Sendable {
    var established = false
    var plaintext: [String] = []
    var closedByServer = false
}

@Suite("DTLSServerTransport on a real socket, seen by a client engine on a plain UDP socket")
struct DTLSServerTransportTests {
    @Test("Handshake, a send from the server (its own socket path), and close_notify when the server closes")
    func sendAndCloseNotify() async throws {
        let key = Array("server-transport-key".utf8)
        let server = try await DTLSServerTransport.bind(
            host: "127.0.0.1", port: 0, configuration: .server(psk: DTLSStaticPSKStore(["dev": key])))
        let udp = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let serverAddress = try SocketAddress(ipAddress: "127.0.0.1", port: try #require(server.localAddress.port))
        let observed = try? await withTimeout(seconds: 20) { () async throws -> Observed in
            var seen = Observed()
            let client = try DTLSClientEngine(configuration: .client(pskIdentity: "dev", key: key), server: serverAddress)
            func handle(_ output: [DTLSClientEngine.Output]) {
                for item in output {
                    switch item {
                    case .datagram(let bytes): udp.send(CoAPDatagram(remote: serverAddress, data: bytes))
                    case .plaintext(let bytes): seen.plaintext.append(String(buffer: bytes))
                    case .established: seen.established = true
                    case .closed: seen.closedByServer = true
                    case .failed(let error): Issue.record("client failed: \(error)")
                    }
                }
            }
            var datagrams = udp.inbound.makeAsyncIterator()
            handle(client.start(now: .now()))
            while !seen.established, let datagram = await datagrams.next() {
                handle(client.receive(datagram.data, now: .now()))
            }
            server.send(CoAPDatagram(remote: udp.localAddress, data: ByteBuffer(string: "from the server")))
            while seen.plaintext.isEmpty, let datagram = await datagrams.next() {
                handle(client.receive(datagram.data, now: .now()))
            }
            await server.close()
            while !seen.closedByServer, let datagram = await datagrams.next() {
                handle(client.receive(datagram.data, now: .now()))
            }
            return seen
        }
        let seen = try #require(observed, "the exchange did not finish in time")
        #expect(seen.established)
        #expect(seen.plaintext == ["from the server"])
        #expect(seen.closedByServer)
        await udp.close()
    }

    @Test("A send to a peer without an association, or after close, is dropped without harm")
    func sendsWithoutAssociation() async throws {
        let server = try await DTLSServerTransport.bind(
            host: "127.0.0.1", port: 0, configuration: .server(psk: DTLSStaticPSKStore(["dev": [1, 2, 3]])))
        let udp = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        server.send(CoAPDatagram(remote: udp.localAddress, data: ByteBuffer(string: "no association")))
        await server.close()
        server.send(CoAPDatagram(remote: udp.localAddress, data: ByteBuffer(string: "closed")))
        // Nothing may reach the peer: a probe sent to it afterwards is the first datagram it gets.
        let probe = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        probe.send(CoAPDatagram(remote: udp.localAddress, data: ByteBuffer(string: "probe")))
        let first = try? await withTimeout(seconds: 10) { () async -> String? in
            for await datagram in udp.inbound { return String(buffer: datagram.data) }
            return nil
        }
        #expect(first == "probe")
        let inboundFinished = try? await withTimeout(seconds: 10) { () async -> Bool in
            for await _ in server.inbound {}
            return true
        }
        #expect(inboundFinished == true, "close() finishes inbound")
        await probe.close()
        await udp.close()
    }
}
