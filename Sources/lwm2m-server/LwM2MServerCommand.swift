import ArgumentParser
import CoAPCore
import Codecs
import Dispatch
import Foundation
import LwM2MCommandSupport
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
        abstract: "An LwM2M 1.0/1.1 server over CoAP/UDP and CoAPS (DTLS 1.2).",
        discussion: """
            Security: --security FILE (JSON, see docs/ServerKit.md) and/or --psk ENDPOINT:IDENTITY:HEXKEY give \
            the endpoints' credentials; --cert/--key/--ca serve certificate clients. With any of them the server \
            also listens for CoAPS on --coaps-port (default 5684; "off" disables it). A client must register as \
            the endpoint its PSK identity or certificate CN belongs to; an endpoint with credentials cannot \
            register over plain CoAP unless its entry allows NoSec (4.03 Forbidden otherwise).

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

    @Option(name: .customLong("coap-port"), help: "The UDP port for CoAP (0 picks a free one; off: no plain CoAP).")
    var coapPort: ListenPort = .port(5683)

    @OptionGroup var securityOptions: SecurityOptions<ServerSecurityFlavor>

    @Option(name: .customLong("models"), help: "A directory of object definitions (OMA DDF XML) to load; repeatable.")
    var models: [String] = []

    @Option(name: .customLong("keys"), help: "A JSON key-map file: {\"key\": \"/o/i/r\"} or {\"/o/i/r\": \"key\"}.")
    var keys: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Flag(help: "Read management commands from standard input and write JSON lines to standard output.")
    var console = false

    func validate() throws {
        try securityOptions.validate(coapPort: coapPort)
    }

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

        let registry: LwM2MRegistry
        let keyMap: ResourceKeyMap
        do {
            registry = try ModelLoading.registry(extraDirectories: models, logger: logger)
            keyMap = try ModelLoading.keys(file: keys, registry: registry)
        } catch {
            FileHandle.standardError.write(Data("lwm2m-server: error: \(error)\n".utf8))
            throw ExitCode.failure
        }

        let security = try securityOptions.securityStore()
        let transports = try await securityOptions.bindTransports(
            host: host, coapPort: coapPort, security: security, udpLogger: nil, logger: logger)
        var configuration = LwM2MServer.Configuration()
        configuration.registration.security = security
        let server = LwM2MServer(
            transport: transports.count == 1 ? transports[0] : CoAPCompositeTransport(transports), definitions: registry,
            codec: ModelLoading.codec(registry), configuration: configuration, logger: logger)
        await server.start()
        // Signal handlers go in before the listening line, so a supervisor that reacts to it can stop us cleanly.
        let stop = ShutdownSignal()
        let signals = stop.installSignalHandlers()
        let out = Output()
        let addresses = transports.map { "\($0.scheme)://\($0.localAddress.hostAndPort)" }
        FileHandle.standardError.write(Data("lwm2m-server listening on \(addresses.joined(separator: " and "))\n".utf8))
        if console {
            out.line(.object([
                ("event", .string("listening")), ("address", .string(addresses[0])),
                ("addresses", .array(addresses.map { .string($0) })),
            ]))
        }

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
                stop.trigger("end of input")
            } : nil

        let reason = await stop.wait()
        consoleTask?.cancel()
        await server.close()
        eventTask.cancel()
        _ = signals
        // The final line: on standard error always, and as an event in console mode.
        FileHandle.standardError.write(Data("lwm2m-server stopped (\(reason))\n".utf8))
        if console { out.line(.object([("event", .string("stopped")), ("reason", .string(reason))])) }
    }
}

/// The server's wording and default port for the shared security options.
enum ServerSecurityFlavor: SecurityOptionsFlavor {
    static let defaultCoAPSPort = 5684
    static let coapsPortHelp =
        "The UDP port for CoAPS (DTLS); default 5684 when security is configured; 0 picks a free one; off: no CoAPS."
    static let securityFileHelp = "A JSON security file (endpoint credentials, see docs/ServerKit.md)."
    static let certificateHelp = "The server's certificate chain (PEM) for certificate clients."
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

/// Fires once, on SIGINT, SIGTERM or a programmatic trigger, with the reason.
final class ShutdownSignal: Sendable {
    private let state = Mutex<(reason: String?, waiters: [CheckedContinuation<String, Never>])>((nil, []))

    func trigger(_ reason: String) {
        let waiters = state.withLock { s -> [CheckedContinuation<String, Never>] in
            guard s.reason == nil else { return [] }
            s.reason = reason
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: reason) }
    }

    /// Waits for the trigger; returns its reason.
    func wait() async -> String {
        await withCheckedContinuation { (c: CheckedContinuation<String, Never>) in
            let fired = state.withLock { s -> String? in
                if let reason = s.reason { return reason }
                s.waiters.append(c)
                return nil
            }
            if let fired { c.resume(returning: fired) }
        }
    }

    /// Installs SIGINT/SIGTERM handlers; keep the returned sources alive.
    func installSignalHandlers() -> [any DispatchSourceSignal] {
        [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")].map { number, name in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in trigger(name) }
            source.resume()
            return source
        }
    }
}
