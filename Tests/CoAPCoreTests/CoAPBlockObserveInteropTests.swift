@testable import CoAPCore
import Foundation
import LwM2MTestPKI
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Synchronization
import Testing

/// The full path of a command found on PATH.
func commandPath(_ name: String) -> String? { ProcessRunner.path(of: name) }

/// Whether the libcoap command-line tools are installed.
let libcoapToolsAvailable = commandPath("coap-client-notls") != nil && commandPath("coap-server-notls") != nil

/// Block-wise and observe against Debian's libcoap tools over real UDP on 127.0.0.1 (the test script installs
/// `libcoap3-bin`). Every process runs with a timeout and is terminated at the end.
@Suite("Interop with libcoap: block-wise and observe", .serialized, .enabled(if: libcoapToolsAvailable,
    "needs coap-client-notls and coap-server-notls (Debian libcoap3-bin) on PATH"))
struct CoAPBlockObserveInteropTests {

    /// A child process with its output in a temporary file; terminated when the test is done with it.
    final class Child {
        let process: Process
        let outputURL: URL

        init(_ name: String, _ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: commandPath(name)!)
            process.arguments = arguments
            outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("coap-\(UUID().uuidString).out")
            _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
            let handle = try FileHandle(forWritingTo: outputURL)
            process.standardOutput = handle
            process.standardError = handle
            self.process = process
            try process.run()
        }

        /// Waits for the process to exit, terminating it after `seconds`; returns its status.
        func wait(seconds: Double) async -> Int32 {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline {
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
            kill()
            return process.terminationStatus
        }

        var output: String { (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "" }

        /// Ends the process with SIGKILL: children of the test process inherit its blocked signal mask, so
        /// SIGTERM and SIGINT would stay pending.
        func kill() {
            ProcessRunner.stop(process)
        }

        func stop() {
            kill()
            try? FileManager.default.removeItem(at: outputURL)
        }
    }

    static func body(_ count: Int) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 8) })
    }

    /// Retries a GET of `/.well-known/core` until the server answers (it may still be starting).
    static func waitUntilServing(_ endpoint: CoAPEndpoint, _ server: SocketAddress) async throws {
        for _ in 0..<40 {
            if let r = try? await endpoint.request(.request(.get, path: "/.well-known/core"), to: server, timeout: .milliseconds(250)),
               r.code == .content { return }
        }
        throw TimeoutError()
    }

    @Test("our client observes /time on coap-server-notls for several notifications, then cancels")
    func observeLibcoapTime() async throws {
        let server = try await LibcoapServer.start("coap-server-notls")
        defer { server.stop() }
        let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let endpoint = CoAPEndpoint(transport: transport)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: server.port)
        try await withTimeout(seconds: 30) {
            try await Self.waitUntilServing(endpoint, address)
            let observation = await endpoint.observe(.request(.get, path: "/time"), to: address)
            var values: [UInt32] = []
            var texts: [String] = []
            for try await notification in observation {
                #expect(notification.code == .content)
                values.append(try #require(notification.observe))
                texts.append(String(buffer: notification.payload))
                if values.count == 4 { break }
            }
            #expect(values.count == 4)
            #expect(texts.allSatisfy { !$0.isEmpty })
            #expect(Set(texts).count >= 3)  // the clock text changes every second
            let cancel = try await observation.cancel()
            #expect(cancel?.code == .content)
            #expect(cancel?.observe == nil)
        }
        await endpoint.close()
    }

    @Test("our client PUTs then GETs 64 KiB block-wise on coap-server-notls")
    func blockwiseAgainstLibcoapServer() async throws {
        let server = try await LibcoapServer.start("coap-server-notls", ["-d", "10"])
        defer { server.stop() }
        let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let endpoint = CoAPEndpoint(transport: transport, configuration: .init(blockwise: .init(blockSize: 512)))
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: server.port)
        let body = Self.body(64 * 1024 + 333)
        try await withTimeout(seconds: 60) {
            try await Self.waitUntilServing(endpoint, address)
            let put = try await endpoint.request(
                .request(.put, path: "/upload", payload: body, contentFormat: .octetStream), to: address)
            #expect(put.code == .created || put.code == .changed)
            let get = try await endpoint.request(.request(.get, path: "/upload"), to: address)
            #expect(get.code == .content)
            #expect(get.payload.readableBytes == body.readableBytes)
            #expect(get.payload == body)
        }
        await endpoint.close()
    }

    /// Our endpoint serving a store under `/files` and an observable counter at `/counter`.
    static func makeServer() async throws -> (CoAPEndpoint, Int, BodyStore) {
        let transport = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let endpoint = CoAPEndpoint(transport: transport)
        let store = BodyStore()
        await endpoint.register("/files", matchesSubpaths: true, handler: CoAPEndpointBlockwiseObserveTests.storeHandler(store))
        return (endpoint, transport.localAddress.port!, store)
    }

    @Test("coap-client-notls -b uploads and downloads 64 KiB block-wise against our endpoint")
    func libcoapClientBlockwise() async throws {
        let (endpoint, port, store) = try await Self.makeServer()
        let body = Self.body(64 * 1024 + 5)
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("coap-in-\(UUID().uuidString)")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("coap-out-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: output)
        }
        try Data(body.readableBytesView).write(to: input)
        let uri = "coap://127.0.0.1:\(port)/files/image"
        let put = try Child("coap-client-notls", ["-m", "put", "-b", "512", "-t", "42", "-f", input.path, "-B", "20", uri])
        let putStatus = await put.wait(seconds: 30)
        let putOutput = put.output
        put.stop()
        #expect(putStatus == 0, "coap-client PUT: \(putOutput)")
        #expect(store["/files/image"] == body)

        let get = try Child("coap-client-notls", ["-b", "256", "-o", output.path, "-B", "20", uri])
        let getStatus = await get.wait(seconds: 30)
        let getOutput = get.output
        get.stop()
        #expect(getStatus == 0, "coap-client GET: \(getOutput)")
        let received = try Data(contentsOf: output)
        #expect(received.count == body.readableBytes)
        #expect(received == Data(body.readableBytesView))
        await endpoint.close()
    }

    @Test("coap-client-notls -s observes our endpoint and gets the notifications we send")
    func libcoapClientObserves() async throws {
        let (endpoint, port, _) = try await Self.makeServer()
        let counter = Mutex(0)
        await endpoint.register("/counter") { _ in .response(.content, text: "n=\(counter.withLock { $0 })") }
        let client = try Child("coap-client-notls", ["-s", "4", "-w", "-B", "8", "coap://127.0.0.1:\(port)/counter"])
        // Produce a change every 250 ms while the client observes (the producer's pace, not a wait for an event),
        // every other one confirmable: libcoap acknowledges those at once, while a NON notification holds the
        // peer's NSTART slot for ACK_TIMEOUT and the changes meanwhile collapse into the newest one.
        let producer = Task {
            for k in 0..<40 {
                try? await Task.sleep(nanoseconds: 250_000_000)
                counter.withLock { $0 += 1 }
                await endpoint.notifyObservers(of: "/counter", confirmable: k % 2 == 0)
            }
        }
        let status = await client.wait(seconds: 15)
        producer.cancel()
        // At the end of -s, coap-client ends the observation (deregistration or RST) and we drop the observer.
        var remaining = await endpoint.observerCount(of: "/counter")
        for _ in 0..<100 where remaining > 0 {
            try await Task.sleep(nanoseconds: 20_000_000)
            remaining = await endpoint.observerCount(of: "/counter")
        }
        #expect(remaining == 0)
        let lines = client.output.split(separator: "\n").map(String.init).filter { $0.hasPrefix("n=") }
        client.stop()
        #expect(status == 0)
        #expect(lines.count >= 5, "coap-client output: \(lines)")
        let numbers = lines.compactMap { Int($0.dropFirst(2)) }
        #expect(numbers == numbers.sorted())
        #expect(Set(numbers).count == numbers.count)
        await endpoint.close()
    }
}
