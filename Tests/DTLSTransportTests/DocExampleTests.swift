import CoAPCore
import DTLSTransport
import NIOCore
import Testing

/// The example of docs/DTLSTransport.md, kept compiling and running here.
@Suite("DTLSTransport README example")
struct DocExampleTests {
    @Test("The README example runs over loopback")
    func readmeExample() async throws {
        // --- begin example (port 0 instead of 5684 in the test) ---
        // Server: one UDP socket for every peer; PSK identities are looked up in a store.
        let store = DTLSStaticPSKStore(["urn:imei:4711": Array("secret-key-4711".utf8)])
        let server = try await DTLSServerTransport.bind(host: "127.0.0.1", port: 0, configuration: .server(psk: store))
        let echo = Task {
            for await datagram in server.inbound {  // decrypted CoAP, with the peer's authenticated identity
                guard case .psk(let identity)? = datagram.peerIdentity else { continue }
                print("request from \(identity)")
                server.send(CoAPDatagram(remote: datagram.remote, data: datagram.data))
            }
        }

        // Client: connect() returns after the handshake, or throws a DTLSError saying why it failed.
        let client = try await DTLSClientTransport.connect(
            to: try SocketAddress(ipAddress: "127.0.0.1", port: server.localAddress.port!),
            configuration: .client(pskIdentity: "urn:imei:4711", key: Array("secret-key-4711".utf8)))
        let ping = CoAPMessage(type: .confirmable, code: .empty, messageID: 1)
        client.send(CoAPDatagram(remote: client.server, data: ping.encoded()))
        for await answer in client.inbound {
            print(try CoAPMessage(decoding: answer.data))
            break
        }
        await client.close()
        await server.close()
        // --- end example ---
        echo.cancel()
        #expect(client.serverIdentity == .psk(identity: "urn:imei:4711"))
    }
}
