import CoAPCore
import Foundation
import LwM2MTestPKI
import NIOCore
import NIOPosix
import Synchronization
import Testing

@Suite("CoAP over real UDP and interop with libcoap")
struct CoAPUDPInteropTests {
    @Test("UDP transport binds port 0 on IPv4 and IPv6 and reports the real port; endpoints talk over it",
          arguments: ["127.0.0.1", "::1"])
    func udpLoopback(host: String) async throws {
        let serverTransport = try await CoAPUDPTransport.bind(host: host, port: 0)
        let clientTransport = try await CoAPUDPTransport.bind(host: host, port: 0)
        #expect(serverTransport.localAddress.port != 0 && serverTransport.localAddress.port != nil)
        #expect(serverTransport.localAddress.protocol == (host.contains(":") ? .inet6 : .inet))
        let server = CoAPEndpoint(transport: serverTransport)
        let client = CoAPEndpoint(transport: clientTransport)
        await server.register("/hello") { request in
            .response(.content, text: "hello \(String(buffer: request.message.payload))")
        }
        let address = server.localAddress
        let response = try await withTimeout {
            try await client.request(.request(.post, path: "/hello", payload: ByteBuffer(string: host)), to: address)
        }
        #expect(String(buffer: response.payload) == "hello \(host)")
        try await withTimeout { try await client.ping(address) }
        await client.close()
        await server.close()
    }

    @Test("our client against coap-server-notls: /.well-known/core, PUT then GET /example_data")
    func clientAgainstLibcoap() async throws {
        let tool = try #require(ProcessRunner.path(of: "coap-server-notls"), "coap-server-notls is missing: install libcoap3-bin")
        let serverProcess = try await LibcoapServer.start(tool)
        defer { serverProcess.stop() }
        let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let client = CoAPEndpoint(transport: transport)
        let server = try SocketAddress(ipAddress: "127.0.0.1", port: serverProcess.port)
        do {
            // Wait until the server answers a ping (no sleeping: each ping is an exchange with a timeout).
            try await withTimeout(seconds: 15) {
                while true {
                    do {
                        try await client.ping(server)
                        return
                    } catch {
                        try Task.checkCancellation()
                    }
                }
            }
            let core = try await withTimeout { try await client.request(.request(.get, path: "/.well-known/core"), to: server) }
            #expect(core.code == .content && core.contentFormat == .linkFormat)
            let links = String(buffer: core.payload)
            #expect(links.contains("</time>") && links.contains("</example_data>"), "got \(links)")

            let body = "swift-lwm2m was here"
            let put = try await withTimeout {
                try await client.request(.request(.put, path: "/example_data", payload: ByteBuffer(string: body), contentFormat: .textPlain), to: server)
            }
            #expect(put.code == .changed || put.code == .created)
            let get = try await withTimeout { try await client.request(.request(.get, path: "/example_data"), to: server) }
            #expect(get.code == .content && String(buffer: get.payload) == body)
            let nonGet = try await withTimeout {
                try await client.request(.request(.get, path: "/example_data", confirmable: false), to: server, timeout: .seconds(5))
            }
            #expect(String(buffer: nonGet.payload) == body)
            let missing = try await withTimeout { try await client.request(.request(.get, path: "/no/such/thing"), to: server) }
            #expect(missing.code == .notFound)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }

    @Test("LibcoapServer: two servers get ports of their own; one that cannot bind is started again, then reported")
    func libcoapServerPorts() async throws {
        let tool = try #require(ProcessRunner.path(of: "coap-server-notls"), "coap-server-notls is missing: install libcoap3-bin")
        let first = try await LibcoapServer.start(tool)
        let second = try await LibcoapServer.start(tool)
        #expect(first.port != second.port && first.port != 0 && second.port != 0)
        // The reported ports are the ones the servers bound: a socket that does not share ports cannot bind them.
        for port in [first.port, second.port] {
            await #expect(throws: (any Error).self) {
                try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .bind(host: "127.0.0.1", port: port).get().close()
            }
        }
        #if os(Linux)
        #expect(LibcoapServer.socketsBound(to: first.port) == 1)
        // Two sockets that share a port (libcoap's and one more, both SO_REUSEADDR) are seen as two, however many
        // sockets the table lists.
        var others: [CoAPUDPTransport] = []
        for _ in 0..<200 { others.append(try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)) }
        let shared = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: first.port).get()
        #expect(LibcoapServer.socketsBound(to: first.port) == 2)
        try await shared.close()
        for other in others { await other.close() }
        #endif
        first.stop()
        second.stop()
        // A later -A wins: an address of no interface here, so every attempt exits on its failed bind.
        let failure = await #expect(throws: LibcoapServerError.self) {
            try await LibcoapServer.start(tool, ["-A", "192.0.2.1"], attempts: 3)
        }
        #expect(failure?.failures.count == 3)
    }

    @Test("coap-client-notls against our endpoint: GET, PUT, POST, DELETE, discovery, errors, NON")
    func libcoapClientAgainstUs() async throws {
        let tool = try #require(ProcessRunner.path(of: "coap-client-notls"), "coap-client-notls is missing: install libcoap3-bin")
        let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let server = CoAPEndpoint(transport: transport)
        let store = Mutex<[String: String]>(["greeting": "hello from swift"])
        await server.register("/store", matchesSubpaths: true, attributes: [.init("rt", "kv")]) { request in
            let key = request.path.dropFirst().joined(separator: "/")
            switch request.method {
            case .get:
                guard let value = store.withLock({ $0[key] }) else { throw CoAPError.notFound("no such key") }
                return .response(.content, text: value)
            case .put:
                store.withLock { $0[key] = String(buffer: request.message.payload) }
                return .response(.changed)
            case .post:
                store.withLock { $0[key] = String(buffer: request.message.payload).uppercased() }
                var created = CoAPMessage.response(.created)
                created.locationPath = ["store", key]
                return created
            case .delete:
                store.withLock { _ = $0.removeValue(forKey: key) }
                return .response(.deleted)
            default:
                throw CoAPError.methodNotAllowed()
            }
        }
        let base = "coap://127.0.0.1:\(transport.localAddress.port!)"
        func client(_ arguments: [String]) async throws -> (Int32, String, String) {
            // coap-client prints the payload followed by a newline. -B only bounds a broken exchange: keep it
            // generous, a loaded machine can take seconds to start the tool and to schedule our endpoint.
            let result = try await ProcessRunner.run([tool, "-B", "30"] + arguments, timeout: .seconds(60))
            let (status, out, err) = (result.status, result.stdout, result.stderr)
            return (status, out.hasSuffix("\n") ? String(out.dropLast()) : out, err)
        }

        let get = try await client(["-m", "get", "\(base)/store/greeting"])
        #expect(get.0 == 0 && get.1 == "hello from swift", "stdout: \(get.1) stderr: \(get.2)")
        let put = try await client(["-m", "put", "-e", "written by libcoap", "\(base)/store/x"])
        #expect(put.0 == 0)
        #expect(store.withLock { $0["x"] } == "written by libcoap")
        let post = try await client(["-m", "post", "-e", "posted", "\(base)/store/y"])
        #expect(post.0 == 0)
        #expect(store.withLock { $0["y"] } == "POSTED")
        let readBack = try await client(["-m", "get", "-N", "\(base)/store/x"])
        #expect(readBack.1 == "written by libcoap", "NON GET: \(readBack.1) \(readBack.2)")
        let delete = try await client(["-m", "delete", "\(base)/store/x"])
        #expect(delete.0 == 0)
        #expect(store.withLock { $0["x"] } == nil)
        let missing = try await client(["-m", "get", "\(base)/store/x"])
        #expect((missing.1 + missing.2).contains("4.04"), "stdout: \(missing.1) stderr: \(missing.2)")
        let core = try await client(["-m", "get", "\(base)/.well-known/core"])
        #expect(core.1 == "</store>;rt=\"kv\"", "discovery: \(core.1)")
        await server.close()
    }
}
