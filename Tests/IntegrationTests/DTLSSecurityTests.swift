import BootstrapKit
import CoAPCore
import Codecs
import LwM2MTestPKI
import DTLSTransport
import Foundation
import LwM2MModel
import NIOCore
import ServerKit
import Testing

/// libcoap's OpenSSL client (Debian's libcoap3-bin, installed by scripts/test.sh).
let coapClient = "coap-client-openssl"
let coapClientMissing = "\(coapClient) is not installed (scripts/test.sh installs libcoap3-bin)"

/// Two endpoints with PSK credentials (ASCII keys, as `coap-client -k` takes them).
enum Credentials {
    static let key1 = "key-of-dev1"
    static let key2 = "key-of-dev2"
    static func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }
    static var pskArguments: [String] {
        ["--psk", "dev1:dev1-id:\(hex(key1))", "--psk", "dev2:dev2-id:\(hex(key2))"]
    }
}

/// `coap-client-openssl` sending one request; `psk` is (identity, key). Waits at most `wait` seconds for the
/// answer (`-B`), which bounds the wrong-key case where the handshake never completes.
func coapRequest(
    _ uri: String, method: String = "post", psk: (String, String)? = nil, payload: String? = nil, wait: Int = 5
) async throws -> ProcessResult {
    var arguments = [coapClient, "-m", method, "-B", "\(wait)"]
    if let (identity, key) = psk { arguments += ["-u", identity, "-k", key] }
    if let payload { arguments += ["-t", "40", "-e", payload] }
    return try await ProcessRunner.run(arguments + [uri], timeout: .seconds(Double(wait) + 20))
}

/// `coap-client` registering `endpoint` (Register with a small link-format payload).
func coapRegister(_ base: String, endpoint: String, psk: (String, String)? = nil, wait: Int = 5) async throws
    -> ProcessResult
{
    try await coapRequest("\(base)/rd?ep=\(endpoint)&lt=60", psk: psk, payload: "</1/0>,</3/0>", wait: wait)
}

extension ProcessResult {
    /// Standard output and error together (coap-client prints error response codes such as `4.03`).
    var text: String { stdout + stderr }
}

@Suite("DTLS security with libcoap: LwM2MServer in process, lwm2m-server and lwm2m-bootstrap", .serialized)
struct DTLSSecurityTests {
    @Test("in process: right PSK registers; A's identity for B, NoSec of a secured endpoint get 4.03; wrong key never")
    func inProcessServer() async throws {
        try #require(ProcessRunner.exists(coapClient), "\(coapClientMissing)")
        let store = try LwM2MInMemorySecurityStore([
            .psk(endpoint: "dev1", identity: "dev1-id", key: Array(Credentials.key1.utf8)),
            .psk(endpoint: "dev2", identity: "dev2-id", key: Array(Credentials.key2.utf8)),
        ])
        let udp = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let dtls = try await DTLSServerTransport.bind(
            host: "127.0.0.1", port: 0, configuration: .server(psk: DTLSClosurePSKStore { store.pskKey(identity: $0) }))
        var configuration = LwM2MServer.Configuration()
        configuration.registration.security = store
        let registry = LwM2MRegistry()
        let server = LwM2MServer(
            transport: CoAPCompositeTransport([udp, dtls]), definitions: registry, codec: LwM2MCodec(definitions: registry),
            configuration: configuration)
        await server.start()
        let coaps = "coaps://127.0.0.1:\(dtls.localAddress.port!)"
        let coap = "coap://127.0.0.1:\(udp.localAddress.port!)"

        let ok = try await coapRegister(coaps, endpoint: "dev1", psk: ("dev1-id", Credentials.key1))
        #expect(!ok.text.contains("4."), "\(ok.text)")
        let event = try await withTimeout(seconds: 20) {
            for await event in server.events { if case .registered(let r, _) = event { return r } }
            throw TimeoutError()
        }
        #expect(event.endpoint == "dev1")
        #expect(event.identity == .psk(identity: "dev1-id"))
        #expect(LwM2MServerEvent.registered(event, replaced: nil).json.jsonText.contains(#""security":"psk""#))

        let stolen = try await coapRegister(coaps, endpoint: "dev2", psk: ("dev1-id", Credentials.key1))
        #expect(stolen.text.contains("4.03"), "\(stolen.text)")
        let plain = try await coapRegister(coap, endpoint: "dev2")
        #expect(plain.text.contains("4.03"), "\(plain.text)")
        let wrongKey = try await coapRegister(coaps, endpoint: "dev2", psk: ("dev2-id", "not-the-key"), wait: 2)
        #expect(!wrongKey.text.contains("2.01"))
        let unknown = try await coapRegister(coap, endpoint: "plain1")
        #expect(!unknown.text.contains("4."), "\(unknown.text)")

        let registered = await server.registrations().map(\.endpoint).sorted()
        #expect(registered == ["dev1", "plain1"])
        #expect(await server.registration(endpoint: "plain1")?.identity == nil)
        await server.close()
    }

    @Test(
        "lwm2m-server --psk: prints both addresses; right PSK registers (security psk); A for B, wrong key, NoSec refused",
        .enabled(if: serverBinary != nil, "lwm2m-server is not built"))
    func serverProcess() async throws {
        try #require(ProcessRunner.exists(coapClient), "\(coapClientMissing)")
        let (server, addresses) = try await startServer(Credentials.pskArguments, coaps: true)
        let coap = addresses[0]
        let coaps = addresses[1]
        #expect(coap.hasPrefix("coap://127.0.0.1:"))
        #expect(coaps.hasPrefix("coaps://127.0.0.1:"))

        let ok = try await coapRegister(coaps, endpoint: "dev1", psk: ("dev1-id", Credentials.key1))
        #expect(!ok.text.contains("4."), "\(ok.text)")
        let registered = try await server.line { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == "dev1")
        #expect(registered["security"]?.stringValue == "psk")
        #expect(registered["identity"]?.stringValue == "dev1-id")

        #expect(try await coapRegister(coaps, endpoint: "dev2", psk: ("dev1-id", Credentials.key1)).text.contains("4.03"))
        #expect(try await coapRegister(coap, endpoint: "dev2").text.contains("4.03"))
        _ = try await coapRegister(coaps, endpoint: "dev2", psk: ("dev2-id", "not-the-key"), wait: 2)

        server.send("clients")
        let clients = try await server.line { $0["clients"] != nil }
        guard case .array(let list)? = clients["clients"] else {
            Issue.record("no clients list")
            return
        }
        #expect(list.compactMap { $0["endpoint"]?.stringValue } == ["dev1"])
        #expect(list.first?["security"]?.stringValue == "psk")
        try server.closeInput()
    }

    @Test(
        "lwm2m-bootstrap --psk over DTLS: own credentials start a session; A for B and NoSec get 4.03; wrong key never",
        .enabled(if: bootstrapBinary != nil, "lwm2m-bootstrap is not built"))
    func bootstrapProcess() async throws {
        try #require(ProcessRunner.exists(coapClient), "\(coapClientMissing)")
        let log = Pipe()
        let logLines = jsonLines(log.fileHandleForReading)
        let bootstrap = try ChildProcess(
            bootstrapBinary,
            ["--host", "127.0.0.1", "--coap-port", "0", "--coaps-port", "0", "--server-uri", "coap://127.0.0.1:5999"]
                + Credentials.pskArguments,
            stderr: log.fileHandleForWriting)
        let listening = try await bootstrap.line { $0.stringValue?.hasPrefix("lwm2m-bootstrap listening on") == true }
        let text = listening.stringValue ?? ""
        let coaps = try #require(text.split(separator: " ").last.map(String.init))
        let coap = try #require(text.split(separator: " ").dropLast(2).last.map(String.init))
        #expect(coaps.hasPrefix("coaps://127.0.0.1:"), "\(text)")
        #expect(coap.hasPrefix("coap://127.0.0.1:"), "\(text)")

        let stolen = try await coapRequest("\(coaps)/bs?ep=dev2", psk: ("dev1-id", Credentials.key1))
        #expect(stolen.text.contains("4.03"), "\(stolen.text)")
        let refusal = try await withTimeout(seconds: 20) {
            await logLines.next { $0.stringValue?.contains("bootstrap request refused") == true }
        }
        #expect(refusal?.stringValue?.contains("PSK identity dev1-id does not belong to endpoint dev2") == true)
        #expect(try await coapRequest("\(coap)/bs?ep=dev1").text.contains("4.03"))

        // A wrong key never gets a session: the next session logged is dev1's, not dev2's.
        _ = try await coapRequest("\(coaps)/bs?ep=dev2", psk: ("dev2-id", "not-the-key"), wait: 2)
        let ok = try await coapRequest("\(coaps)/bs?ep=dev1", psk: ("dev1-id", Credentials.key1))
        #expect(!ok.text.contains("4."), "\(ok.text)")
        let started = try await withTimeout(seconds: 20) {
            await logLines.next { $0.stringValue?.contains("bootstrap session started") == true }
        }
        #expect(started?.stringValue?.contains("endpoint=dev1 ") == true, "\(started?.jsonText ?? "")")
        bootstrap.kill()
    }

    @Test(
        "lwm2m-server --cert/--key/--ca --security: a client certificate with the entry's CN registers; a stranger's CA never",
        .enabled(if: serverBinary != nil, "lwm2m-server is not built"))
    func serverProcessCertificates() async throws {
        try #require(ProcessRunner.exists(coapClient), "\(coapClientMissing)")
        let pki = TestPKI.shared
        let file = pki.directory.appendingPathComponent("security-\(UUID().uuidString).json")
        try """
            {"endpoints": {
              "cert1": {"x509": {"commonName": "device-1"}},
              "dev1": {"psk": {"identity": "dev1-id", "key": "\(Credentials.hex(Credentials.key1))"}}
            }}
            """.write(to: file, atomically: true, encoding: .utf8)
        let (server, addresses) = try await startServer(
            [
                "--security", file.path, "--cert", pki.path("server.pem"), "--key", pki.path("server.key"),
                "--ca", pki.path("ca.pem"),
            ], coap: false, coaps: true)
        let coaps = addresses[0]
        #expect(coaps.hasPrefix("coaps://127.0.0.1:"))
        func register(_ endpoint: String, as name: String) async throws -> ProcessResult {
            try await ProcessRunner.run([
                coapClient, "-m", "post", "-B", "5", "-c", pki.path("\(name).pem"), "-j", pki.path("\(name).key"),
                "-C", pki.path("ca.pem"), "-t", "40", "-e", "</3/0>", "\(coaps)/rd?ep=\(endpoint)&lt=60",
            ])
        }
        #expect(try await register("dev1", as: "device").text.contains("4.03"))
        let stranger = try await register("cert1", as: "stranger")
        #expect(!stranger.text.contains("2.01"))
        let ok = try await register("cert1", as: "device")
        #expect(!ok.text.contains("4."), "\(ok.text)")
        let registered = try await server.line { $0["event"]?.stringValue == "registered" }
        #expect(registered["endpoint"]?.stringValue == "cert1")
        #expect(registered["security"]?.stringValue == "x509")
        #expect(registered["identity"]?.stringValue == "device-1")
        // PSK clients share the port with certificate clients.
        let psk = try await coapRegister(coaps, endpoint: "dev1", psk: ("dev1-id", Credentials.key1))
        #expect(!psk.text.contains("4."), "\(psk.text)")
        let second = try await server.line { $0["event"]?.stringValue == "registered" }
        #expect(second["endpoint"]?.stringValue == "dev1")
        try server.closeInput()
    }

    @Test(
        "a bad security file, a bad --psk and --coaps-port without credentials are refused at start, naming the field",
        .enabled(if: serverBinary != nil && bootstrapBinary != nil, "lwm2m-server / lwm2m-bootstrap are not built"))
    func badStartArguments() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-security-\(UUID().uuidString).json")
        try #"{"endpoints": {"dev1": {"psk": {"identity": "dev1-id", "key": "xyz"}}}}"#
            .write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        for binary in [serverBinary!, bootstrapBinary!] {
            let base = [binary.path, "--host", "127.0.0.1", "--coap-port", "0", "--server-uri", "coap://127.0.0.1:5999"]
            let arguments = binary == serverBinary ? Array(base.dropLast(2)) : base
            let badFile = try await ProcessRunner.run(arguments + ["--security", file.path, "--coaps-port", "0"])
            #expect(badFile.status != 0)
            #expect(badFile.stderr.contains("endpoints.dev1.psk.key"), "\(badFile.stderr)")
            let badPSK = try await ProcessRunner.run(arguments + ["--psk", "dev1:00"])
            #expect(badPSK.status != 0)
            #expect(badPSK.stderr.contains("expected ENDPOINT:IDENTITY:HEXKEY"), "\(badPSK.stderr)")
            let noCredentials = try await ProcessRunner.run(arguments + ["--coaps-port", "0"])
            #expect(noCredentials.status != 0)
            #expect(noCredentials.stderr.contains("--coaps-port 0 needs --security, --psk or --cert"))
        }
    }
}
