package import ArgumentParser
package import CoAPCore
import DTLSTransport
package import LwM2MModel
package import Logging

/// What differs between the executables that take ``SecurityOptions``: the default CoAPS port and the wording
/// of a few help lines.
package protocol SecurityOptionsFlavor {
    /// The CoAPS port used when security is configured and `--coaps-port` is not given.
    static var defaultCoAPSPort: Int { get }
    /// The help line of `--coaps-port`.
    static var coapsPortHelp: String { get }
    /// The help line of `--security`.
    static var securityFileHelp: String { get }
    /// The help line of `--cert`.
    static var certificateHelp: String { get }
}

/// The security options shared by `lwm2m-server` and `lwm2m-bootstrap`: `--coaps-port`, `--security FILE`,
/// `--psk ENDPOINT:IDENTITY:HEXKEY` (repeatable) and `--cert`/`--key`/`--ca`, and what they turn into (a
/// security store, a DTLS configuration, the transports to listen on).
package struct SecurityOptions<Flavor: SecurityOptionsFlavor>: ParsableArguments {
    @Option(name: .customLong("coaps-port"), help: ArgumentHelp(Flavor.coapsPortHelp))
    package var coapsPort: ListenPort?

    @Option(name: .customLong("security"), help: ArgumentHelp(Flavor.securityFileHelp))
    package var securityFile: String?

    @Option(
        name: .customLong("psk"),
        help: ArgumentHelp("The PSK credentials of one endpoint; repeatable.", valueName: "endpoint:identity:hexkey"))
    package var psk: [String] = []

    @Option(name: .customLong("cert"), help: ArgumentHelp(Flavor.certificateHelp))
    package var certificate: String?

    @Option(name: .customLong("key"), help: "The private key of --cert (PEM).")
    package var privateKey: String?

    @Option(name: .customLong("ca"), help: "The CA certificates (PEM) client certificates must chain to.")
    package var ca: String?

    /// Options as parsed; every option starts unset.
    package init() {}

    /// Whether any credential option is given (which turns CoAPS on by default).
    package var hasSecurity: Bool { securityFile != nil || !psk.isEmpty || certificate != nil }

    /// `--coaps-port`, or its default: the flavour's port when security is configured, off otherwise.
    package var effectiveCoAPSPort: ListenPort { coapsPort ?? (hasSecurity ? .port(Flavor.defaultCoAPSPort) : .off) }

    /// Checks the options together with the command's `--coap-port`, in the order the executables always
    /// reported them.
    package func validate(coapPort: ListenPort) throws {
        if (certificate == nil) != (privateKey == nil) { throw ValidationError("give --cert and --key together") }
        if ca != nil && certificate == nil { throw ValidationError("--ca needs --cert and --key") }
        if case .port(let p)? = coapsPort, !hasSecurity {
            throw ValidationError("--coaps-port \(p) needs --security, --psk or --cert")
        }
        if coapPort == .off && effectiveCoAPSPort == .off {
            throw ValidationError("both --coap-port and --coaps-port are off")
        }
    }

    /// The security store from --security and --psk (nil when neither is given).
    package func securityStore() throws -> LwM2MInMemorySecurityStore? {
        guard securityFile != nil || !psk.isEmpty else { return nil }
        do {
            let store = try (securityFile.map { try LwM2MSecurityFile.load(path: $0) } ?? LwM2MSecurityFile()).makeStore()
            for argument in psk { try store.add(LwM2MSecurityInfo(pskArgument: argument)) }
            return store
        } catch {
            throw ValidationError("\(securityFile ?? "--psk"): \(error)")
        }
    }

    /// Binds plain CoAP on `coapPort` and CoAPS on ``effectiveCoAPSPort`` (each unless off) on `host`; the DTLS
    /// side serves `security`'s PSKs and the `--cert` certificate.
    ///
    /// - Parameters:
    ///   - udpLogger: The CoAP/UDP transport's logger (nil: the transport's default, which logs nothing).
    ///   - logger: The DTLS transport's logger.
    package func bindTransports(
        host: String, coapPort: ListenPort, security: LwM2MInMemorySecurityStore?, udpLogger: Logger?, logger: Logger
    ) async throws -> [any CoAPTransport] {
        var transports: [any CoAPTransport] = []
        if case .port(let port) = coapPort {
            if let udpLogger {
                transports.append(try await CoAPUDPTransport.bind(host: host, port: port, logger: udpLogger))
            } else {
                transports.append(try await CoAPUDPTransport.bind(host: host, port: port))
            }
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
        return transports
    }
}

/// A port to listen on, or `off`.
package enum ListenPort: ExpressibleByArgument, Equatable, Sendable {
    /// A UDP port (0 picks a free one).
    case port(Int)
    /// Do not listen.
    case off

    /// Parses `off` or a port number from 0 to 65535.
    package init?(argument: String) {
        if argument == "off" {
            self = .off
        } else if let port = Int(argument), (0...65535).contains(port) {
            self = .port(port)
        } else {
            return nil
        }
    }

    /// The port number or `off`, as shown in help.
    package var defaultValueDescription: String {
        switch self {
        case .port(let port): return "\(port)"
        case .off: return "off"
        }
    }
}
