import LwM2MTestPKI
import CoAPCore
import Foundation
import NIOCore
import ServerKit
import Synchronization
import Testing

/// `lwm2m-server --console` and one `lwm2m-client`, both real processes on loopback.
private struct ConsolePair {
    let server: ChildProcess
    let client: ChildProcess
    let endpoint: String

    /// Starts the server, waits until it listens, starts the client and waits for its registration.
    static func start(endpoint: String) async throws -> ConsolePair {
        let (server, addresses) = try await startServer()
        // The client's text output (e.g. its FIRMWARE lines) arrives as JSON strings.
        let client = try ChildProcess(
            clientBinary,
            [
                "--server", addresses[0], "--endpoint", endpoint, "--lifetime", "120",
                "--log-level", "error",
            ])
        let registered = try await server.line { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == endpoint)
        return ConsolePair(server: server, client: client, endpoint: endpoint)
    }

    /// Sends one console command and returns its result line.
    func run(_ method: String, _ params: String = "") async throws -> JSONValue {
        server.send("\(endpoint) \(method)" + (params.isEmpty ? "" : " \(params)"))
        return try await server.line { $0["method"]?.stringValue == method && $0["endpoint"]?.stringValue == endpoint }
    }

    /// Sends one console command and waits for its result and for a further line (an event), in either order.
    func run(
        _ method: String, _ params: String, andWaitFor event: @escaping @Sendable (JSONValue) -> Bool
    ) async throws -> (result: JSONValue, event: JSONValue) {
        let endpoint = self.endpoint
        server.send("\(endpoint) \(method) \(params)")
        let isResult: @Sendable (JSONValue) -> Bool = {
            $0["method"]?.stringValue == method && $0["endpoint"]?.stringValue == endpoint
        }
        let first = try await server.line { isResult($0) || event($0) }
        if isResult(first) { return (first, try await server.line(where: event)) }
        return (try await server.line(where: isResult), first)
    }

    /// The client's next output line that is exactly `text`.
    func clientSays(_ text: String) async throws {
        _ = try await client.line { $0.stringValue == text }
    }
}

private func isNotification(_ path: String, _ value: JSONValue) -> @Sendable (JSONValue) -> Bool {
    { $0["event"]?.stringValue == "notification" && $0["path"]?.stringValue == path && $0["value"] == value }
}

@Suite("lwm2m-server console <-> lwm2m-client processes: every DM operation, Send, firmware")
struct ProcessDMOperationsTests {
    @Test(
        "WriteUpdate, WriteAttributes, Execute, Create/Delete, composites, observe cancels, DiscoverAll, Send, EOF",
        .enabled(if: serverBinary != nil && clientBinary != nil, "lwm2m-server / lwm2m-client are not built"))
    func managementOperations() async throws {
        let pair = try await ConsolePair.start(endpoint: "dm1")
        let ep = "dm1"

        // WriteUpdate (POST) of one resource of the Server instance, read back.
        var r = try await pair.run("WriteUpdate", #"{"id":"/1/0","value":{"5":3600}}"#)
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"WriteUpdate","result":"CHANGED"}"#)
        r = try await pair.run("Read", #"{"id":"/1/0/5"}"#)
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"Read","result":"CONTENT","value":3600}"#)

        // WriteAttributes, visible in Discover.
        r = try await pair.run("WriteAttributes", #"{"id":"/3303/0/5701","attributes":{"pmin":2,"pmax":90}}"#)
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"WriteAttributes","result":"CHANGED"}"#)
        r = try await pair.run("Discover", #"{"id":"/3303/0/5701"}"#)
        #expect(r["result"]?.stringValue == "CONTENT")
        #expect(r["value"]?.stringValue?.contains("</3303/0/5701>") == true)
        #expect(r["value"]?.stringValue?.contains("pmin=2") == true)
        #expect(r["value"]?.stringValue?.contains("pmax=90") == true)

        // Create an instance of Temperature with a chosen ID, read it, delete it.
        r = try await pair.run("Create", #"{"id":"/3303/1","value":{"5700":21.5}}"#)
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"Create","result":"CREATED","value":"/3303/1"}"#)
        r = try await pair.run("Read", #"{"id":"/3303/1/5700"}"#)
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"Read","result":"CONTENT","value":21.5}"#)
        r = try await pair.run("Delete", #"{"id":"/3303/1"}"#)
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"Delete","result":"DELETED"}"#)
        r = try await pair.run("Read", #"{"id":"/3303/1/5700"}"#)
        #expect(r["result"]?.stringValue == "NOT_FOUND")

        // WriteComposite then ReadComposite.
        r = try await pair.run("WriteComposite", #"{"nodes":{"/1/0/5":600,"/1/0/3":300}}"#)
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"WriteComposite","result":"CHANGED"}"#)
        r = try await pair.run("ReadComposite", #"{"ids":["/1/0/5","/1/0/3","/1/0/1"]}"#)
        #expect(r["result"]?.stringValue == "CONTENT")
        #expect(r["value"]?["/1/0/5"] == .int(600))
        #expect(r["value"]?["/1/0/3"] == .int(300))
        #expect(r["value"]?["/1/0/1"] == .int(120))

        // Observe, a notification, ObserveCancel (1 cancelled, then none left).
        // (The client's shell and the server's console are separate processes: the value is read, not set, here.)
        let current = try await pair.run("Read", #"{"id":"/3303/0/5700"}"#)["value"]
        #expect(current != nil)
        r = try await pair.run("Observe", #"{"id":"/3303/0/5700"}"#)
        #expect(r["result"]?.stringValue == "CONTENT")
        #expect(r["value"] == current)
        pair.client.send("temp 23.5")
        let single = try await pair.server.line(where: isNotification("/3303/0/5700", .double(23.5)))
        #expect(single["endpoint"]?.stringValue == ep)
        r = try await pair.run("ObserveCancel", #"{"id":"/3303/0/5700"}"#)
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"ObserveCancel","result":"CONTENT","value":"1"}"#)
        r = try await pair.run("ObserveCancel", #"{"id":"/3303/0/5700"}"#)
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"ObserveCancel","result":"CONTENT","value":"0"}"#)

        // ObserveComposite, a notification, ObserveCompositeCancel.
        r = try await pair.run("ObserveComposite", #"{"ids":["/3303/0/5700","/1/0/1"]}"#)
        #expect(r["result"]?.stringValue == "CONTENT")
        #expect(r["value"]?["/3303/0/5700"] == .double(23.5))
        #expect(r["value"]?["/1/0/1"] == .int(120))
        pair.client.send("temp 24.5")
        let composite = try await pair.server.line {
            $0["event"]?.stringValue == "notification" && $0["paths"] != nil
                && $0["value"]?["/3303/0/5700"] == .double(24.5)
        }
        #expect(composite["endpoint"]?.stringValue == ep)
        #expect(composite["paths"] == .array([.string("/3303/0/5700"), .string("/1/0/1")]))
        #expect(composite["value"]?["/1/0/1"] == .int(120))
        r = try await pair.run("ObserveCompositeCancel", #"{"ids":["/3303/0/5700","/1/0/1"]}"#)
        #expect(
            r.jsonText == #"{"endpoint":"dm1","method":"ObserveCompositeCancel","result":"CONTENT","value":"1"}"#)
        r = try await pair.run("ObserveReadAll")
        #expect(r.jsonText == #"{"endpoint":"dm1","method":"ObserveReadAll","result":"CONTENT","value":"[]"}"#)

        // DiscoverAll: the registration's links, answered by the server alone.
        r = try await pair.run("DiscoverAll")
        #expect(r["result"]?.stringValue == "CONTENT")
        let links = try JSONValue.parse(r["value"]?.stringValue ?? "")
        guard case .array(let items) = links else {
            Issue.record("DiscoverAll value is not a JSON list: \(r.jsonText)")
            return
        }
        let urls = items.compactMap { $0["url"]?.stringValue }
        for url in ["/1/0", "/3/0", "/4/0", "/5/0", "/3303/0"] { #expect(urls.contains(url), "\(url) in \(urls)") }
        #expect(!urls.contains("/3303/1"))

        // Execute Registration Update Trigger: the client answers 2.04 and sends an Update (no sooner than its
        // 15 s flood guard after the Register, hence late in this test).
        let (executed, updated) = try await pair.run("Execute", #"{"id":"/1/0/8"}"#) {
            $0["event"]?.stringValue == "updated" && $0["endpoint"]?.stringValue == ep
        }
        #expect(executed.jsonText == #"{"endpoint":"dm1","method":"Execute","result":"CHANGED"}"#)
        #expect(updated["endpoint"]?.stringValue == ep)

        // Send from the client's shell.
        pair.client.send("send /3303/0/5700")
        let sent = try await pair.server.line { $0["event"]?.stringValue == "send" }
        #expect(sent["endpoint"]?.stringValue == ep)
        guard case .array(let records)? = sent["records"], records.count == 1 else {
            Issue.record("Send event without one record: \(sent.jsonText)")
            return
        }
        #expect(records[0]["path"]?.stringValue == "/3303/0/5700")
        #expect(records[0]["value"] == .double(24.5))

        // End of the client's input: it de-registers.
        try pair.client.closeInput()
        let deregistered = try await pair.server.line { $0["event"]?.stringValue == "deregistered" }
        #expect(deregistered["endpoint"]?.stringValue == ep)
    }

    @Test(
        "Firmware: a block-wise push to /5/0/0, Update, then a pull by coap:// URI from an in-process CoAP server",
        .enabled(if: serverBinary != nil && clientBinary != nil, "lwm2m-server / lwm2m-client are not built"))
    func firmwarePushAndPull() async throws {
        let pair = try await ConsolePair.start(endpoint: "fw1")
        var r = try await pair.run("Read", #"{"id":"/5/0/3"}"#)
        #expect(r.jsonText == #"{"endpoint":"fw1","method":"Read","result":"CONTENT","value":0}"#)

        // Push: 6000 bytes (Block1 on the wire: more than one 1024-byte block), as hex text.
        let pushed = (0..<6000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let hex = pushed.map { String(format: "%02x", $0) }.joined()
        r = try await pair.run("WriteReplace", #"{"id":"/5/0/0","value":"\#(hex)"}"#)
        #expect(r.jsonText == #"{"endpoint":"fw1","method":"WriteReplace","result":"CHANGED"}"#)
        try await pair.clientSays("FIRMWARE received 6000 bytes")
        r = try await pair.run("Read", #"{"id":"/5/0/3"}"#)
        #expect(r.jsonText == #"{"endpoint":"fw1","method":"Read","result":"CONTENT","value":2}"#)

        // Update: the client answers 2.04, installs, and reports Update Result 1 (success) back in Idle.
        r = try await pair.run("Observe", #"{"id":"/5/0/5"}"#)
        #expect(r.jsonText == #"{"endpoint":"fw1","method":"Observe","result":"CONTENT","value":0}"#)
        let (executed, _) = try await pair.run(
            "Execute", #"{"id":"/5/0/2"}"#, andWaitFor: isNotification("/5/0/5", .int(1)))
        #expect(executed.jsonText == #"{"endpoint":"fw1","method":"Execute","result":"CHANGED"}"#)
        try await pair.clientSays("FIRMWARE update with 6000 bytes")
        r = try await pair.run("ReadComposite", #"{"ids":["/5/0/3","/5/0/5"]}"#)
        #expect(r["value"]?["/5/0/3"] == .int(0))
        #expect(r["value"]?["/5/0/5"] == .int(1))

        // Pull: the image is served over UDP by an in-process CoAP endpoint (Block2 for 5000 bytes).
        let pulled = ByteBuffer(bytes: (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        let requests = Mutex(0)
        let imageServer = CoAPEndpoint(transport: try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0))
        await imageServer.register("/fw/image.bin") { _ in
            requests.withLock { $0 += 1 }
            return .response(.content, payload: pulled)
        }
        let port = imageServer.localAddress.port ?? 0
        r = try await pair.run("Observe", #"{"id":"/5/0/3"}"#)
        #expect(r.jsonText == #"{"endpoint":"fw1","method":"Observe","result":"CONTENT","value":0}"#)
        let (written, _) = try await pair.run(
            "WriteReplace", #"{"id":"/5/0/1","value":"coap://127.0.0.1:\#(port)/fw/image.bin"}"#,
            andWaitFor: isNotification("/5/0/3", .int(2)))
        #expect(written.jsonText == #"{"endpoint":"fw1","method":"WriteReplace","result":"CHANGED"}"#)
        try await pair.clientSays("FIRMWARE received 5000 bytes")
        #expect(requests.withLock { $0 } >= 1)
        r = try await pair.run("Read", #"{"id":"/5/0/1"}"#)
        #expect(r["value"]?.stringValue == "coap://127.0.0.1:\(port)/fw/image.bin")
        await imageServer.close()

        try pair.client.closeInput()
        let deregistered = try await pair.server.line { $0["event"]?.stringValue == "deregistered" }
        #expect(deregistered["endpoint"]?.stringValue == "fw1")
    }
}

@Suite("Process test helpers")
struct ProcessSupportTests {
    @Test(
        "A wait for a line that never comes ends with TimeoutError (the hang guard works)",
        .enabled(if: serverBinary != nil, "lwm2m-server is not built"))
    func lineTimesOut() async throws {
        let (server, _) = try await startServer()
        let start = ContinuousClock.now
        await #expect(throws: TimeoutError.self) { _ = try await server.line(within: 0.5) { _ in false } }
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
