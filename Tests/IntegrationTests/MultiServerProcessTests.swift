import CoAPCore
import Foundation
import NIOCore
import ServerKit
import Testing

@Suite("lwm2m-client with two lwm2m-server processes")
struct MultiServerProcessTests {
    @Test(
        "Two --server options: both register; server 2 reads through the default ACL, Delete needs the owner",
        .enabled(if: serverBinary != nil && clientBinary != nil, "lwm2m-server / lwm2m-client are not built"))
    func twoServers() async throws {
        let (port1, port2) = (try await freeUDPPort(), try await freeUDPPort())
        let server1 = try ChildProcess(
            serverBinary, ["--console", "--coap-port", "\(port1)", "--host", "127.0.0.1", "--log-level", "warning"])
        let server2 = try ChildProcess(
            serverBinary, ["--console", "--coap-port", "\(port2)", "--host", "127.0.0.1", "--log-level", "warning"])
        _ = try await server1.line { $0["event"]?.stringValue == "listening" }
        _ = try await server2.line { $0["event"]?.stringValue == "listening" }

        let client = try ChildProcess(
            clientBinary,
            [
                "--server", "coap://127.0.0.1:\(port1)", "--server", "7=coap://127.0.0.1:\(port2)",
                "--endpoint", "multi-proc", "--lifetime", "120", "--default-access", "RE", "--log-level", "error",
            ],
            jsonOutput: false)
        defer { client.kill() }
        for server in [server1, server2] {
            let registered = try await server.line { $0["event"]?.stringValue == "registered" }
            #expect(registered["endpoint"]?.stringValue == "multi-proc")
        }

        // Server 2 (SSID 7) reads through the default entry; writing and deleting need rights it lacks.
        server2.send(#"multi-proc Read {"id":"/3/0/0"}"#)
        let read = try await server2.line { $0["method"]?.stringValue == "Read" }
        #expect(read["result"]?.stringValue == "CONTENT")
        server2.send(#"multi-proc Delete {"id":"/3303/0"}"#)
        let denied = try await server2.line { $0["method"]?.stringValue == "Delete" }
        #expect(denied["result"]?.stringValue == "UNAUTHORIZED")
        // Its own Server instance (/1/1) is its own to change.
        server2.send(#"multi-proc WriteReplace {"id":"/1/1/1","value":90}"#)
        let ownWrite = try await server2.line { $0["method"]?.stringValue == "WriteReplace" }
        #expect(ownWrite["result"]?.stringValue == "CHANGED")
        // Server 1 owns everything else.
        server1.send(#"multi-proc Delete {"id":"/3303/0"}"#)
        let deleted = try await server1.line { $0["method"]?.stringValue == "Delete" }
        #expect(deleted["result"]?.stringValue == "DELETED")

        try client.closeInput()
        for server in [server1, server2] {
            let gone = try await server.line { $0["event"]?.stringValue == "deregistered" }
            #expect(gone["endpoint"]?.stringValue == "multi-proc")
        }
    }
}
