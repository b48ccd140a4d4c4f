import ArgumentParser
import BootstrapKit
import CoAPCore
import Foundation
import Logging
import NIOCore

/// `lwm2m-bootstrap`: an LwM2M bootstrap server over CoAP/UDP.
@main
struct LwM2MBootstrapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lwm2m-bootstrap",
        abstract: "An LwM2M bootstrap server.",
        discussion: """
            Clients start bootstrap with POST /bs?ep=NAME. Each endpoint is configured from a JSON file \
            (--config) or, with --server-uri, every endpoint the same way: delete /0 and /1, write one NoSec \
            Security instance and one Server instance (short server ID 1, binding U) for that URI.
            """)

    @Option(help: "The address to listen on.")
    var host: String = "0.0.0.0"

    @Option(name: .customLong("coap-port"), help: "The CoAP (UDP) port; 0 picks a free one.")
    var coapPort: Int = 5783

    @Option(name: .customLong("coaps-port"), help: "The CoAPS (DTLS) port (not available yet).")
    var coapsPort: Int?

    @Option(help: "A JSON bootstrap configuration file (see docs/BootstrapKit.md).")
    var config: String?

    @Option(name: .customLong("server-uri"), help: "Bootstrap every endpoint to this LwM2M server (coap://HOST:PORT).")
    var serverURI: String?

    @Option(name: .customLong("server-lifetime"), help: "The registration lifetime written with --server-uri (s).")
    var serverLifetime: Int64 = 300

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        if coapsPort != nil { throw ValidationError("DTLS not available yet: --coaps-port cannot be used") }
        if config == nil && serverURI == nil { throw ValidationError("give --config FILE or --server-uri URI") }
        if config != nil && serverURI != nil { throw ValidationError("give either --config or --server-uri, not both") }
        if let serverURI, !(serverURI.hasPrefix("coap://") || serverURI.hasPrefix("coaps://")) {
            throw ValidationError("--server-uri must start with coap:// or coaps://")
        }
        if serverLifetime <= 0 { throw ValidationError("--server-lifetime must be positive") }
        if Logger.Level(rawValue: logLevel.lowercased()) == nil { throw ValidationError("unknown --log-level \(logLevel)") }
        if !(0...65535).contains(coapPort) { throw ValidationError("--coap-port must be 0...65535") }
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

        let transport = try await CoAPUDPTransport.bind(host: host, port: coapPort, logger: logger)
        let endpoint = CoAPEndpoint(transport: transport, logger: logger)
        let server = LwM2MBootstrapServer(endpoint: endpoint, store: store, logger: logger)
        await server.start()
        let port = transport.localAddress.port ?? coapPort
        // Written unbuffered so that a supervisor reading a pipe sees it at once.
        FileHandle.standardOutput.write(Data("lwm2m-bootstrap listening on coap://\(host):\(port)\n".utf8))
        for await event in server.events {
            logger.info("\(event)")
        }
    }
}
