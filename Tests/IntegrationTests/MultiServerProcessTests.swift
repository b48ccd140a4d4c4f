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
        let (server1, addresses1) = try await startServer()
        let (server2, addresses2) = try await startServer()
        #expect(addresses1 != addresses2)

        let client = try ChildProcess(
            clientBinary,
            [
                "--server", addresses1[0], "--server", "7=\(addresses2[0])",
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
