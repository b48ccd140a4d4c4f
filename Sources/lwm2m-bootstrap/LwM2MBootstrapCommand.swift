import ArgumentParser
import BootstrapKit
import CoAPCore
import Foundation
import LwM2MCommandSupport
import LwM2MModel
import Logging
import NIOCore

/// `lwm2m-bootstrap`: an LwM2M bootstrap server over CoAP/UDP and CoAPS (DTLS 1.2).
@main
struct LwM2MBootstrapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lwm2m-bootstrap",
        abstract: "An LwM2M bootstrap server.",
        discussion: """
            Clients start bootstrap with POST /bs?ep=NAME. Each endpoint is configured from a JSON file \
            (--config) or, with --server-uri, every endpoint the same way: delete /0 and /1, write one NoSec \
            Security instance and one Server instance (short server ID 1, binding U) for that URI. \
            With --security FILE and/or --psk ENDPOINT:IDENTITY:HEXKEY (and --cert/--key/--ca), the server also \
            listens for CoAPS on --coaps-port (default 5784; "off" disables it) and an endpoint may only request \
            bootstrap with its own credentials (4.03 Forbidden otherwise); the file format is the one of \
            lwm2m-server --security (see docs/BootstrapKit.md).
            """)

    @Option(help: "The address to listen on.")
    var host: String = "0.0.0.0"

    @Option(name: .customLong("coap-port"), help: "The CoAP (UDP) port; 0 picks a free one; off: no plain CoAP.")
    var coapPort: ListenPort = .port(5783)

    @OptionGroup var securityOptions: SecurityOptions<BootstrapSecurityFlavor>

    @Option(help: "A JSON bootstrap configuration file (see docs/BootstrapKit.md).")
    var config: String?

    @Option(name: .customLong("server-uri"), help: "Bootstrap every endpoint to this LwM2M server (coap://HOST:PORT).")
    var serverURI: String?

    @Option(name: .customLong("server-lifetime"), help: "The registration lifetime written with --server-uri (s).")
    var serverLifetime: Int64 = 300

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        try securityOptions.validate(coapPort: coapPort)
        if config == nil && serverURI == nil { throw ValidationError("give --config FILE or --server-uri URI") }
        if config != nil && serverURI != nil { throw ValidationError("give either --config or --server-uri, not both") }
        if let serverURI, !(serverURI.hasPrefix("coap://") || serverURI.hasPrefix("coaps://")) {
            throw ValidationError("--server-uri must start with coap:// or coaps://")
        }
        if serverLifetime <= 0 { throw ValidationError("--server-lifetime must be positive") }
        if Logger.Level(rawValue: logLevel.lowercased()) == nil { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lwm2m-bootstrap")

        let store: LwM2MInMemoryBootstrapConfigurationStore
        if let config {
            do {
                store = LwM2MInMemoryBootstrapConfigurationStore(file: try LwM2MBootstrapConfigurationFile.load(path: config))
            } catch {
                throw ValidationError("\(config): \(error)")
            }
        } else {
            store = LwM2MInMemoryBootstrapConfigurationStore(
                default: .noSec(serverURI: serverURI ?? "", lifetime: serverLifetime))
        }

        let security = try securityOptions.securityStore()
        let transports = try await securityOptions.bindTransports(
            host: host, coapPort: coapPort, security: security, udpLogger: logger, logger: logger)
        let transport = transports.count == 1 ? transports[0] : CoAPCompositeTransport(transports)
        let endpoint = CoAPEndpoint(transport: transport, logger: logger)
        let server = LwM2MBootstrapServer(endpoint: endpoint, store: store, security: security, logger: logger)
        await server.start()
        let addresses = transports.map { "\($0.scheme)://\($0.localAddress.hostAndPort)" }
        // Written unbuffered so that a supervisor reading a pipe sees it at once.
        FileHandle.standardOutput.write(
            Data("lwm2m-bootstrap listening on \(addresses.joined(separator: " and "))\n".utf8))
        // BootstrapKit logs each session's start, end and failure itself; the executable adds its steps.
        for await event in server.events {
            if case .step = event { logger.info("\(event)") }
        }
    }
}

/// The bootstrap server's wording and default port for the shared security options.
enum BootstrapSecurityFlavor: SecurityOptionsFlavor {
    static let defaultCoAPSPort = 5784
    static let coapsPortHelp =
        "The CoAPS (DTLS) port; default 5784 when security is configured; 0 picks a free one; off: no CoAPS."
    static let securityFileHelp = "A JSON security file (endpoint credentials, see docs/BootstrapKit.md)."
    static let certificateHelp = "The bootstrap server's certificate chain (PEM) for certificate clients."
}
