import CoAPCore
import LwM2MTestPKI
import Foundation
import NIOCore
import Synchronization
import Testing

/// The `lwm2m-client` binary built next to the tests (`swift build --build-tests` builds it).
private let clientBinary: String = (ProcessRunner.builtExecutable("lwm2m-client")
    ?? ProcessRunner.packageRoot.appendingPathComponent(".build/debug/lwm2m-client")).path

/// Awaits the first element of `stream`, giving up after `seconds` of real time.
private func first<T: Sendable>(_ stream: AsyncStream<T>, seconds: Double = 30) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask {
            for await value in stream { return value }
            return nil
        }
        group.addTask {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return nil
        }
        let result = await group.next() ?? nil
        group.cancelAll()
        return result
    }
}

@Suite("lwm2m-client as a process")
struct ClientProcessTests {
    @Test(
        "Register, Read, Write, Observe with a shell-driven change, De-register at the end of stdin",
        .enabled(if: FileManager.default.isExecutableFile(atPath: clientBinary), "lwm2m-client is not built"))
    func endToEnd() async throws {
        let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let server = CoAPEndpoint(transport: transport)
        let (registrations, registered) = AsyncStream<CoAPIncomingRequest>.makeStream()
        await server.register("/rd", matchesSubpaths: true) { request in
            registered.yield(request)
            if request.method == .post && request.path == ["rd"] {
                var response = CoAPMessage.response(.created)
                response.locationPath = ["rd", "p1"]
                return response
            }
            return .response(request.method == .delete ? .deleted : .changed)
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: clientBinary)
        process.arguments = [
            "--server", "coap://127.0.0.1:\(transport.localAddress.port!)", "--endpoint", "proc-ep",
            "--lifetime", "120", "--log-level", "error",
        ]
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let (requests, _) = (registrations, ())
        guard let register = await first(requests) else {
            Issue.record("no Register from the process")
            return
        }
        #expect(register.message.uriQuery == ["ep=proc-ep", "lt=120", "lwm2m=1.1", "b=U"])
        #expect(String(buffer: register.message.payload).contains("</3/0>"))
        let client = register.peer

        let read = try await server.request(.request(.get, path: "/3/0/0"), to: client)
        #expect(read.code == .content)
        #expect(String(buffer: read.payload) == "swift-lwm2m")

        let write = try await server.request(
            .request(.put, path: "/3/0/15", payload: ByteBuffer(string: "Europe/Berlin"), contentFormat: .textPlain), to: client)
        #expect(write.code == .changed)
        let readBack = try await server.request(.request(.get, path: "/3/0/15"), to: client)
        #expect(String(buffer: readBack.payload) == "Europe/Berlin")

        var observe = CoAPMessage.request(.get, path: "/3303/0/5700")
        observe.observe = 0
        let (notifications, notified) = AsyncStream<CoAPMessage>.makeStream()
        let observer = Task {
            for try await m in await server.responses(for: observe, to: client) { notified.yield(m) }
        }
        defer { observer.cancel() }
        let firstNotification = await first(notifications)
        #expect(firstNotification?.observe == 0)
        stdin.fileHandleForWriting.write(Data("temp 31.5\n".utf8))
        let changed = await first(notifications)
        #expect(changed.map { String(buffer: $0.payload) } == "31.5")

        // End of standard input: the client de-registers.
        try stdin.fileHandleForWriting.close()
        var sawDelete = false
        while let request = await first(requests) {
            if request.method == .delete {
                #expect(request.path == ["rd", "p1"])
                sawDelete = true
                break
            }
        }
        #expect(sawDelete)
        await server.close()
    }
}
