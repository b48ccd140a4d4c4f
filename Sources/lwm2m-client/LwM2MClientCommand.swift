import ArgumentParser
import ClientKit
import CoAPCore
import Foundation
import LwM2MModel
import Logging
import NIOCore

/// `lwm2m-client`: an LwM2M device with the standard objects that registers with one or more servers (plain
/// CoAP or DTLS with PSK or certificates) and offers Zephyr's LwM2M shell commands on standard input.
@main
struct LwM2MClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lwm2m-client",
        abstract: """
            An LwM2M 1.0/1.1 client (Security, Server, Device, Connectivity Monitoring, Firmware Update, \
            Temperature) with a command shell on stdin.
            """,
        discussion: """
            Registers on start and de-registers on SIGINT/SIGTERM or at the end of standard input. Shell commands: \
            read PATH [-x|-s|-b|-uX|-sX|-f|-t], write PATH [-s|-b|-uX|-sX|-f|-t] VALUE, exec PATH [ARGS], \
            create PATH, delete PATH (object or resource instance), send PATHS..., cache PATH NUM, update, start [EP_NAME], \
            stop [-f], pause, resume, lock, unlock, obs, ls [PATH], temp VALUE, quit (they act on the first \
            server's session).

            Servers: --server [SSID=]URI, repeatable; URI is coap://HOST[:PORT] or coaps://HOST[:PORT]; SSID is \
            the Short Server ID (default 1, 2, ... in order). coaps:// servers use the PSK (--psk-identity, \
            --psk-key) or the certificate (--cert, --key, --ca) given, stored in the Security object as LwM2M \
            defines. With several servers, Access Control (object 2) is enforced: the first server owns every \
            instance, each server owns its own Server instance, and the others get --default-access rights.
            """)

    @Option(help: "An LwM2M server, [SSID=]coap://HOST[:PORT] or [SSID=]coaps://HOST[:PORT]; repeatable.")
    var server: [String] = []

    @Option(help: ArgumentHelp(
        "Start with client-initiated bootstrap from this bootstrap server, coap://HOST[:PORT] or coaps://HOST[:PORT] "
            + "(with --psk-identity/--psk-key or --cert/--key as its credentials), then register with the servers "
            + "it configures.",
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

    @Option(help: "The local UDP port for coap:// (0 picks a free one).")
    var localPort: Int = 0

    @Option(help: "The PSK identity for coaps:// servers (security mode 0).")
    var pskIdentity: String?

    @Option(help: "The pre-shared key for coaps:// servers, in hex.")
    var pskKey: String?

    @Option(help: "The client certificate for coaps:// servers, PEM file (security mode 2).")
    var cert: String?

    @Option(help: "The client certificate's private key, PEM file.")
    var key: String?

    @Option(help: "The server certificate or CA certificate that the server must chain to, PEM file.")
    var ca: String?

    @Option(help: "With several servers: the rights of the non-owning servers, letters of RWED.")
    var defaultAccess: String = "RWE"

    @Option(help: "Seconds a DTLS handshake may take.")
    var dtlsTimeout: Int64 = 30

    @Option(help: "The log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    /// One `--server` value.
    struct ServerOption {
        var shortServerID: UInt16
        var uri: LwM2MServerURI
        var text: String
    }

    var servers: [ServerOption] {
        get throws {
            var result: [ServerOption] = []
            for (index, value) in (server.isEmpty && bootstrap == nil ? ["coap://127.0.0.1:5683"] : server).enumerated() {
                var ssid = UInt16(index + 1)
                var text = value
                if let eq = value.firstIndex(of: "="), !value[..<eq].contains(":") {
                    guard let id = UInt16(value[..<eq]), (1...65534).contains(id) else {
                        throw ValidationError("bad short server ID in --server \(value)")
                    }
                    ssid = id
                    text = String(value[value.index(after: eq)...])
                }
                let uri: LwM2MServerURI
                do { uri = try LwM2MServerURI(parsing: text) } catch { throw ValidationError("--server: \(error.reason)") }
                guard !result.contains(where: { $0.shortServerID == ssid }) else {
                    throw ValidationError("short server ID \(ssid) is used twice")
                }
                result.append(ServerOption(shortServerID: ssid, uri: uri, text: text))
            }
            return result
        }
    }

    func validate() throws {
        guard LwM2MEnablerVersion(rawValue: lwm2m) != nil else { throw ValidationError("--lwm2m must be 1.0 or 1.1") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard LwM2MAccessRights(letters: defaultAccess) != nil else { throw ValidationError("--default-access: letters of RWED") }
        let servers = try self.servers
        if (pskIdentity == nil) != (pskKey == nil) { throw ValidationError("--psk-identity and --psk-key go together") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if pskIdentity != nil && cert != nil { throw ValidationError("choose PSK or certificates, not both") }
        if let pskKey, Self.hexBytes(pskKey) == nil { throw ValidationError("--psk-key must be hex") }
        var secure = servers.contains(where: \.uri.isSecure)
        if let bootstrap {
            do { secure = try LwM2MServerURI(parsing: bootstrap).isSecure || secure } catch {
                throw ValidationError("--bootstrap: \(error.reason)")
            }
        }
        if secure && pskIdentity == nil && cert == nil {
            throw ValidationError("a coaps:// server needs --psk-identity/--psk-key or --cert/--key")
        }
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// The Security instance values for a secure server: mode, /0/x/3, /0/x/4, /0/x/5.
    func credentials() throws -> (LwM2MSecurityMode, [UInt8], [UInt8], [UInt8]) {
        if let pskIdentity, let pskKey, let keyBytes = Self.hexBytes(pskKey) {
            return (.preSharedKey, Array(pskIdentity.utf8), [], keyBytes)
        }
        guard let cert, let key else { return (.noSecurity, [], [], []) }
        func der(_ file: String) throws -> [UInt8] {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            return try LwM2MPEM.der(fromPEM: text)
        }
        return (.certificate, try der(cert), try ca.map(der) ?? [], try der(key))
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lwm2m-client")
        let servers = try self.servers
        let (mode, identity, serverKey, secret) = try credentials()

        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        for (index, option) in servers.enumerated() {
            let secure = option.uri.isSecure
            try LwM2MStandardObjects.installSecurity(
                in: tree, instanceID: UInt16(index), serverURI: option.text, shortServerID: option.shortServerID,
                mode: secure ? mode : .noSecurity, publicKeyOrIdentity: secure ? identity : [],
                serverPublicKey: secure ? serverKey : [], secretKey: secure ? secret : [])
            try LwM2MStandardObjects.installServer(
                in: tree, instanceID: UInt16(index), shortServerID: option.shortServerID, lifetime: lifetime,
                binding: "U")
        }
        if let bootstrap {
            // Client-initiated bootstrap: the bootstrap-server account; the bootstrap server writes the rest.
            let secure = try LwM2MServerURI(parsing: bootstrap).isSecure
            try LwM2MStandardObjects.installSecurity(
                in: tree, instanceID: UInt16(servers.count), serverURI: bootstrap, shortServerID: 0, isBootstrapServer: true,
                mode: secure ? mode : .noSecurity, publicKeyOrIdentity: secure ? identity : [],
                serverPublicKey: secure ? serverKey : [], secretKey: secure ? secret : [])
            if tree.definition(of: 1) == nil { try tree.addObject(1) }
        }
        try LwM2MStandardObjects.installDevice(in: tree, info: .init(serialNumber: endpoint))
        let sensor = try LwM2MTemperatureSensor(tree: tree)
        try LwM2MStandardObjects.installConnectivityMonitoring(in: tree)
        // Firmware Update: push or pull (coap://, or coaps:// with the matching Security instance's credentials)
        // images are accepted and "installed" by logging them; pulls use their own UDP endpoint or DTLS connection.
        let downloads = CoAPEndpoint(transport: try await CoAPUDPTransport.bind(host: "0.0.0.0", port: 0), logger: logger)
        // Kept until the end of `run`: the object's tree handlers hold it weakly, so a dropped result would make
        // every image write and Update a silent no-op.
        let firmware = try LwM2MStandardObjects.installFirmwareUpdate(
            in: tree, endpoint: downloads,
            transports: LwM2MNetworkTransportFactory(handshakeTimeout: .seconds(dtlsTimeout), logger: logger),
            validate: { image in writeLine("FIRMWARE received \(image.count) bytes") },
            update: { image in writeLine("FIRMWARE update with \(image.count) bytes") })
        if servers.count > 1 {
            try LwM2MStandardObjects.installAccessControl(
                in: tree, owner: servers[0].shortServerID, defaultRights: LwM2MAccessRights(letters: defaultAccess) ?? [],
                creators: servers.map(\.shortServerID))
        }

        let version = LwM2MEnablerVersion(rawValue: lwm2m) ?? .v1_1
        let registration = LwM2MRegistrationConfiguration(
            endpointName: endpoint, lifetime: lifetime, version: version, queueMode: queueMode)
        let runtime = LwM2MClientRuntime(
            configuration: .init(
                registration: registration, bootstrap: bootstrap == nil ? nil : LwM2MBootstrapClientStep(version: version)),
            tree: tree,
            transports: LwM2MNetworkTransportFactory(
                localPort: localPort, handshakeTimeout: .seconds(dtlsTimeout), logger: logger),
            logger: logger)
        let primary = servers.first?.shortServerID
        let targets = servers.map { "\($0.shortServerID)=\($0.uri)" } + (bootstrap.map { ["bootstrap=\($0)"] } ?? [])
        writeLine("lwm2m-client \(endpoint) -> \(targets.joined(separator: " "))")

        // Stop on SIGINT/SIGTERM, or at the end of standard input (after its commands ran).
        let (stopRequests, stopper) = AsyncStream<Void>.makeStream()
        let events = Task {
            for await event in runtime.events {
                // One server: the event as before; several: prefixed with the short server ID.
                writeLine(servers.count <= 1 && event.reason == nil ? "EVENT \(event.event)" : "EVENT \(event)")
            }
        }
        let (signals, sources) = signalStream()
        let signalTask = Task {
            for await _ in signals {
                stopper.yield()
                return
            }
        }
        await runtime.start()

        let lines = StandardInputLines()
        let input = Task {
            for await line in lines.stream {
                // The first --server's session, or (after bootstrap) the first server's.
                let client = if let primary { await runtime.client(for: primary) } else { await runtime.clients.first }
                guard let client else {
                    writeLine("ERROR server \(primary.map(String.init) ?? "") is not connected")
                    continue
                }
                if await !LwM2MClientShell(client: client, sensor: sensor, output: writeLine).run(line) { break }
            }
            stopper.yield()
        }
        for await _ in stopRequests { break }
        input.cancel()
        signalTask.cancel()
        // De-register from every server (at most 5 s).
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await runtime.stop() }
            group.addTask { try? await Task.sleep(nanoseconds: 5_000_000_000) }
            await group.next()
            group.cancelAll()
        }
        await runtime.close()
        events.cancel()
        await downloads.close()
        withExtendedLifetime(sources) {}
        withExtendedLifetime(firmware) {}
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
