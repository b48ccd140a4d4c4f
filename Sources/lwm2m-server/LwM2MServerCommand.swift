import ArgumentParser
import CoAPCore
import Codecs
import Dispatch
import Foundation
import LwM2MModel
import Logging
import NIOCore
import ServerKit
import Synchronization

/// `lwm2m-server`: an LwM2M server over UDP with an optional line-oriented management console.
@main
struct LwM2MServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lwm2m-server",
        abstract: "An LwM2M 1.0/1.1 server over CoAP/UDP.",
        discussion: """
            With --console, reads commands from standard input, one per line:
              <endpoint> <Method> [<json params>]   e.g.  dev1 Read {"id":"/3/0/9"}
              clients                               lists the registered clients
            and writes one JSON object per line to standard output: command results
            ({"endpoint":"dev1","method":"Read","result":"CONTENT","value":95}) and events
            ({"event":"registered","endpoint":"dev1",...}). End of input stops the server.
            Methods: \(LwM2MCommand.Method.allCases.map(\.rawValue).joined(separator: ", ")).
            """
    )

    @Option(help: "The address to listen on (default: all IPv4 interfaces).")
    var host: String = "0.0.0.0"

    @Option(name: .customLong("coap-port"), help: "The UDP port for CoAP.")
    var coapPort: Int = 5683

    @Option(name: .customLong("models"), help: "A directory of object definitions (OMA DDF XML) to load; repeatable.")
    var models: [String] = []

    @Option(name: .customLong("keys"), help: "A JSON key-map file: {\"key\": \"/o/i/r\"} or {\"/o/i/r\": \"key\"}.")
    var keys: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(help: "Read management commands from standard input and write JSON lines to standard output.")
    var console = false

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level \(logLevel)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "lwm2m.server")
        logger.logLevel = level

        let registry = try ModelLoading.registry(extraDirectories: models, logger: logger)
        var keyMap = ResourceKeyMap(registry: registry)
        if let keys {
            let text = try String(contentsOfFile: keys, encoding: .utf8)
            try keyMap.loadOverrides(json: text)
        }

        let transport = try await CoAPUDPTransport.bind(host: host, port: coapPort)
        let server = LwM2MServer(
            transport: transport, definitions: registry, codec: ModelLoading.codec(registry), logger: logger)
        await server.start()
        let out = Output()
        let listening = "coap://\(Self.format(transport.localAddress))"
        FileHandle.standardError.write(Data("lwm2m-server listening on \(listening)\n".utf8))
        if console { out.line(.object([("event", .string("listening")), ("address", .string(listening))])) }

        let stop = ShutdownSignal()
        let signals = stop.installSignalHandlers()
        let eventTask = Task {
            for await event in server.events {
                if console {
                    out.line(event.json)
                } else {
                    logger.info("\(event.json.jsonText)")
                }
            }
        }
        let runner = LwM2MCommandRunner(operations: server, definitions: registry, keys: keyMap)
        let consoleTask: Task<Void, Never>? =
            console
            ? Task {
                await withTaskGroup(of: Void.self) { group in
                    for await line in StandardInputLines.stream() {
                        switch LwM2MConsoleInput(line: line) {
                        case .empty: continue
                        case .clients:
                            let clients = await server.registrations().sorted { $0.endpoint < $1.endpoint }
                            out.line(.object([("clients", .array(clients.map(\.json)))]))
                        case .command(let endpoint, let method, let params):
                            group.addTask { out.line(await runner.run(endpoint: endpoint, method: method, params: params).json) }
                        case .invalid(let reason):
                            out.line(.object([("result", .string("BAD_REQUEST")), ("error", .string(reason))]))
                        }
                    }
                    await group.waitForAll()
                }
                stop.trigger()
            } : nil

        await stop.wait()
        logger.info("lwm2m-server shutting down")
        consoleTask?.cancel()
        await server.close()
        eventTask.cancel()
        _ = signals
    }

    static func format(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// Serialised JSON-lines output on standard output.
final class Output: Sendable {
    private let lock = Mutex(())

    func line(_ value: JSONValue) {
        let text = value.jsonText + "\n"
        lock.withLock { _ in
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

/// Standard input as an async sequence of lines, read on its own thread; finishes at end of input.
enum StandardInputLines {
    static func stream() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let thread = Thread {
            while let line = readLine(strippingNewline: true) { continuation.yield(line) }
            continuation.finish()
        }
        thread.start()
        return stream
    }
}

/// Fires once, on SIGINT, SIGTERM or a programmatic trigger.
final class ShutdownSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func trigger() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.fired else { return [] }
            s.fired = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let fired = state.withLock { s -> Bool in
                if s.fired { return true }
                s.waiters.append(c)
                return false
            }
            if fired { c.resume() }
        }
    }

    /// Installs SIGINT/SIGTERM handlers; keep the returned sources alive.
    func installSignalHandlers() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in trigger() }
            source.resume()
            return source
        }
    }
}
