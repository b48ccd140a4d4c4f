import CoAPCore
import Foundation
import NIOCore
import ServerKit
import Synchronization
import Testing

@Suite("lwm2m-server <-> lwm2m-client as processes")
struct ProcessEndToEndTests {
    @Test(
        "Register, Read, Observe, WriteReplace, Discover through the console; a shell change notifies; EOF de-registers",
        .enabled(if: serverBinary != nil && clientBinary != nil, "lwm2m-server / lwm2m-client are not built"))
    func consoleAgainstClientProcess() async throws {
        let (server, addresses) = try await startServer()
        func line(_ predicate: @escaping @Sendable (JSONValue) -> Bool) async throws -> JSONValue {
            try await server.line(where: predicate)
        }
        func command(_ text: String) { server.send(text) }

        let client = try ChildProcess(
            clientBinary,
            ["--server", addresses[0], "--endpoint", "e2e1", "--lifetime", "120", "--log-level", "error"],
            jsonOutput: false)

        let registered = try await line { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == "e2e1")
        #expect(registered["lifetime"] == .int(120))
        #expect(registered["lwm2m"]?.stringValue == "1.1")

        command(#"e2e1 Read {"id":"/3/0/0"}"#)
        let read = try await line { $0["method"]?.stringValue == "Read" }
        #expect(read["result"]?.stringValue == "CONTENT")
        #expect(read["value"]?.stringValue?.isEmpty == false)

        command(#"e2e1 Observe {"id":"/3303/0/5700"}"#)
        let observe = try await line { $0["method"]?.stringValue == "Observe" }
        #expect(observe["result"]?.stringValue == "CONTENT")

        command(#"e2e1 WriteReplace {"id":"/1/0/1","value":120}"#)
        let write = try await line { $0["method"]?.stringValue == "WriteReplace" }
        #expect(write["result"]?.stringValue == "CHANGED")

        command(#"e2e1 Discover {"id":"/3/0"}"#)
        let discover = try await line { $0["method"]?.stringValue == "Discover" }
        #expect(discover["result"]?.stringValue == "CONTENT")
        #expect(discover.jsonText.contains("</3/0/0>"))

        client.send("temp 24.5")
        let notification = try await line {
            $0["event"]?.stringValue == "notification" && ($0["value"] == .double(24.5))
        }
        #expect(notification["endpoint"]?.stringValue == "e2e1")
        #expect(notification["path"]?.stringValue == "/3303/0/5700")

        // End of the client's input: it de-registers.
        try client.closeInput()
        let deregistered = try await line { $0["event"]?.stringValue == "deregistered" }
        #expect(deregistered["endpoint"]?.stringValue == "e2e1")
    }
}
