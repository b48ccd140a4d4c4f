import ArgumentParser
import BootstrapKit
import CoAPCore
import DTLSTransport
import Foundation
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

    @Option(
        name: .customLong("coaps-port"),
        help: "The CoAPS (DTLS) port; default 5784 when security is configured; off: no CoAPS.")
    var coapsPort: ListenPort?

    @Option(name: .customLong("security"), help: "A JSON security file (endpoint credentials, see docs/BootstrapKit.md).")
    var securityFile: String?

    @Option(
        name: .customLong("psk"),
        help: ArgumentHelp("The PSK credentials of one endpoint; repeatable.", valueName: "endpoint:identity:hexkey"))
    var psk: [String] = []

    @Option(name: .customLong("cert"), help: "The bootstrap server's certificate chain (PEM) for certificate clients.")
    var certificate: String?

    @Option(name: .customLong("key"), help: "The private key of --cert (PEM).")
    var privateKey: String?

    @Option(name: .customLong("ca"), help: "The CA certificates (PEM) client certificates must chain to.")
    var ca: String?

    @Option(help: "A JSON bootstrap configuration file (see docs/BootstrapKit.md).")
    var config: String?

    @Option(name: .customLong("server-uri"), help: "Bootstrap every endpoint to this LwM2M server (coap://HOST:PORT).")
    var serverURI: String?

    @Option(name: .customLong("server-lifetime"), help: "The registration lifetime written with --server-uri (s).")
    var serverLifetime: Int64 = 300

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        if (certificate == nil) != (privateKey == nil) { throw ValidationError("give --cert and --key together") }
        if ca != nil && certificate == nil { throw ValidationError("--ca needs --cert and --key") }
        if case .port(let p)? = coapsPort, !hasSecurity {
            throw ValidationError("--coaps-port \(p) needs --security, --psk or --cert")
        }
        if coapPort == .off && effectiveCoAPSPort == .off {
            throw ValidationError("both --coap-port and --coaps-port are off")
        }
        if config == nil && serverURI == nil { throw ValidationError("give --config FILE or --server-uri URI") }
        if config != nil && serverURI != nil { throw ValidationError("give either --config or --server-uri, not both") }
        if let serverURI, !(serverURI.hasPrefix("coap://") || serverURI.hasPrefix("coaps://")) {
            throw ValidationError("--server-uri must start with coap:// or coaps://")
        }
        if serverLifetime <= 0 { throw ValidationError("--server-lifetime must be positive") }
        if Logger.Level(rawValue: logLevel.lowercased()) == nil { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    private var hasSecurity: Bool { securityFile != nil || !psk.isEmpty || certificate != nil }
    private var effectiveCoAPSPort: ListenPort { coapsPort ?? (hasSecurity ? .port(5784) : .off) }

    /// The security store from --security and --psk (nil when neither is given).
    private func securityStore() throws -> LwM2MInMemorySecurityStore? {
        guard securityFile != nil || !psk.isEmpty else { return nil }
        do {
            let store = try (securityFile.map { try LwM2MSecurityFile.load(path: $0) } ?? LwM2MSecurityFile()).makeStore()
            for argument in psk { try store.add(LwM2MSecurityInfo(pskArgument: argument)) }
            return store
        } catch {
            throw ValidationError("\(securityFile ?? "--psk"): \(error)")
        }
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

        let security = try securityStore()
        var transports: [any CoAPTransport] = []
        if case .port(let port) = coapPort {
            transports.append(try await CoAPUDPTransport.bind(host: host, port: port, logger: logger))
        }
        if case .port(let port) = effectiveCoAPSPort {
            var dtls = DTLSConfiguration()
            if let certificate, let privateKey {
                dtls.certificates = try DTLSCertificateConfiguration.load(
                    certificateFile: certificate, keyFile: privateKey, caFile: ca)
            }
            if let security { dtls.pskStore = DTLSClosurePSKStore { security.pskKey(identity: $0) } }
            transports.append(try await DTLSServerTransport.bind(host: host, port: port, configuration: dtls, logger: logger))
        }
        let transport = transports.count == 1 ? transports[0] : CoAPCompositeTransport(transports)
        let endpoint = CoAPEndpoint(transport: transport, logger: logger)
        let server = LwM2MBootstrapServer(endpoint: endpoint, store: store, security: security, logger: logger)
        await server.start()
        let addresses = transports.map { "\($0.scheme)://\(host):\($0.localAddress.port ?? 0)" }
        // Written unbuffered so that a supervisor reading a pipe sees it at once.
        FileHandle.standardOutput.write(
            Data("lwm2m-bootstrap listening on \(addresses.joined(separator: " and "))\n".utf8))
        for await event in server.events {
            logger.info("\(event)")
        }
    }
}

/// A port to listen on, or `off`.
enum ListenPort: ExpressibleByArgument, Equatable {
    case port(Int)
    case off

    init?(argument: String) {
        if argument == "off" {
            self = .off
        } else if let port = Int(argument), (0...65535).contains(port) {
            self = .port(port)
        } else {
            return nil
        }
    }

    var defaultValueDescription: String {
        switch self {
        case .port(let port): return "\(port)"
        case .off: return "off"
        }
    }
}
