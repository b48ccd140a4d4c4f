import ArgumentParser
import ClientKit
import CoAPCore
import Foundation
import LwM2MModel
import Logging
import NIOCore

/// `lwm2m-client`: an LwM2M device with the standard objects that registers with one server and offers
/// Zephyr's LwM2M shell commands on standard input.
@main
struct LwM2MClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lwm2m-client",
        abstract: "An LwM2M 1.0/1.1 client (Security, Server, Device, Temperature) with a command shell on stdin.",
        discussion: """
            Registers on start and de-registers on SIGINT/SIGTERM or at the end of standard input. Shell commands:
            read PATH, write PATH VALUE, exec PATH [ARGS], create PATH, delete PATH, send PATHS..., update, start,
            stop, pause, resume, obs, ls [PATH], temp VALUE, quit.
            """)

    @Option(help: "The LwM2M server, coap://HOST:PORT.")
    var server: String = "coap://127.0.0.1:5683"

    @Option(help: ArgumentHelp(
        "Start with client-initiated bootstrap from this bootstrap server (coap://HOST:PORT) instead of --server.",
        valueName: "uri"))
    var bootstrap: String?

    @Option(help: "The endpoint client name.")
    var endpoint: String = "swift-lwm2m-client"

    @Option(help: "The registration lifetime in seconds.")
    var lifetime: UInt32 = 300

    @Option(help: "The LwM2M version to register with: 1.0 or 1.1.")
    var lwm2m: String = "1.1"

    @Flag(help: "Register in queue mode.")
    var queueMode = false

    @Option(help: "The local UDP port (0 picks a free one).")
    var localPort: Int = 0

    @Option(help: "The log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard LwM2MEnablerVersion(rawValue: lwm2m) != nil else { throw ValidationError("--lwm2m must be 1.0 or 1.1") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        _ = try Self.parseServer(server)
        if let bootstrap { _ = try Self.parseServer(bootstrap) }
    }

    static func parseServer(_ uri: String) throws -> (host: String, port: Int) {
        guard uri.hasPrefix("coap://") else { throw ValidationError("--server must be coap://HOST:PORT") }
        var rest = uri.dropFirst("coap://".count)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw ValidationError("bad IPv6 literal in --server") }
            let host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            let port = after.hasPrefix(":") ? Int(after.dropFirst()) : 5683
            guard let port else { throw ValidationError("bad port in --server") }
            return (host, port)
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count <= 2 else { throw ValidationError("bad --server \(uri)") }
        guard let port = parts.count == 2 ? Int(parts[1]) : 5683, (1...65535).contains(port) else {
            throw ValidationError("bad port in --server")
        }
        return (String(host), port)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lwm2m-client")
        let (host, port) = try Self.parseServer(bootstrap ?? server)
        var serverAddress = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let bindHost = serverAddress.protocol == .inet6 ? "::" : "0.0.0.0"
        let transport = try await CoAPUDPTransport.bind(host: bindHost, port: localPort)
        let coap = CoAPEndpoint(transport: transport, logger: logger)

        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        if let bootstrap {
            // Client-initiated bootstrap: only the bootstrap-server account; the bootstrap server writes the rest.
            try LwM2MStandardObjects.installSecurity(in: tree, serverURI: bootstrap, shortServerID: 0, isBootstrapServer: true)
            try tree.addObject(1)
        } else {
            // Factory bootstrap: the server account is configured before start.
            try LwM2MStandardObjects.installSecurity(in: tree, serverURI: server, shortServerID: 1)
            try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: lifetime, binding: "U")
        }
        try LwM2MStandardObjects.installDevice(in: tree, info: .init(serialNumber: endpoint))
        let sensor = try LwM2MTemperatureSensor(tree: tree)
        try LwM2MStandardObjects.installConnectivityMonitoring(in: tree)
        // Firmware Update: push or pull (coap://) images are accepted and "installed" by logging them.
        try LwM2MStandardObjects.installFirmwareUpdate(
            in: tree, endpoint: coap,
            validate: { image in writeLine("FIRMWARE received \(image.count) bytes") },
            update: { image in writeLine("FIRMWARE update with \(image.count) bytes") })

        let version = LwM2MEnablerVersion(rawValue: lwm2m) ?? .v1_1
        let registration = LwM2MRegistrationConfiguration(
            endpointName: endpoint, lifetime: lifetime, version: version, queueMode: queueMode)
        var configuration = LwM2MClient.Configuration(registration: registration, server: serverAddress)
        var bootstrapper: LwM2MBootstrapClient?
        if bootstrap != nil {
            let bootstrapClient = LwM2MBootstrapClient(
                configuration: .init(endpointName: endpoint, version: version),
                tree: tree, endpoint: coap, logger: logger)
            bootstrapper = bootstrapClient
            let bootstrapEvents = Task { for await event in bootstrapClient.events { writeLine("EVENT \(event)") } }
            writeLine("lwm2m-client \(endpoint) on \(transport.localAddress) bootstrapping from \(serverAddress)")
            guard try await bootstrapClient.bootstrap(),
                let bootstrapped = try await bootstrapClient.clientConfiguration(registration: registration)
            else {
                bootstrapEvents.cancel()
                await coap.close()
                throw ExitCode.failure
            }
            configuration = bootstrapped
            serverAddress = bootstrapped.server
            _ = bootstrapEvents
        }
        let client = LwM2MClient(configuration: configuration, tree: tree, endpoint: coap, logger: logger)
        let shell = LwM2MClientShell(client: client, sensor: sensor, output: writeLine)
        writeLine("lwm2m-client \(endpoint) on \(transport.localAddress) -> \(serverAddress)")

        // Stop on SIGINT/SIGTERM, at the end of standard input (after its commands ran), or when the engine
        // gave up.
        let (stopRequests, stopper) = AsyncStream<Void>.makeStream()
        let (disconnects, disconnected) = AsyncStream<Void>.makeStream()
        let events = Task {
            for await event in client.events {
                writeLine("EVENT \(event)")
                if event == .networkError { stopper.yield() }
                if event == .disconnect { disconnected.yield() }
            }
        }
        let (signals, sources) = signalStream()
        let signalTask = Task {
            for await _ in signals {
                stopper.yield()
                return
            }
        }
        await client.start()

        let lines = StandardInputLines()
        let input = Task {
            for await line in lines.stream {
                if await !shell.run(line) { break }
            }
            stopper.yield()
        }
        for await _ in stopRequests { break }
        input.cancel()
        signalTask.cancel()
        let status = await client.status
        if status != .idle && status != .networkError {
            await client.stop()
            // Wait (at most 5 s) for DISCONNECT so the De-register gets out.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { for await _ in disconnects { return } }
                group.addTask { try? await Task.sleep(nanoseconds: 5_000_000_000) }
                await group.next()
                group.cancelAll()
            }
        }
        events.cancel()
        await client.close()
        withExtendedLifetime((sources, bootstrapper)) {}
    }
}

/// Lines of standard input read on a dedicated thread (so a blocking read never holds a concurrency thread).
final class StandardInputLines: Sendable {
    let stream: AsyncStream<String>

    init() {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        self.stream = stream
        let thread = Thread {
            while let line = readLine(strippingNewline: true) { continuation.yield(line) }
            continuation.finish()
        }
        thread.start()
    }
}

/// Writes one line to standard output, unbuffered (so a reading pipe sees it at once).
@Sendable func writeLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// A stream that yields on SIGINT or SIGTERM, and the dispatch sources to keep alive while it is used.
func signalStream() -> (AsyncStream<Void>, [any DispatchSourceSignal]) {
    let (stream, continuation) = AsyncStream<Void>.makeStream()
    var sources: [any DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { continuation.yield() }
        source.resume()
        sources.append(source)
    }
    return (stream, sources)
}
