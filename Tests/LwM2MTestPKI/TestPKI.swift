public import Foundation

/// Test-only keys and certificates, generated with the `openssl` command-line tool into a temporary directory.
/// Nothing here is a real secret. Shared by the DTLS and the integration tests (a small target of its own so
/// that both use one generator).
public struct TestPKI: Sendable {
    /// The directory holding the PEM files (`ca.pem`, `server.pem`, `server.key`, `device.pem`, `device.key`, ...).
    public let directory: URL
    /// CA that signs the server and device certificates.
    public let caCertificate: String
    /// Another CA, trusted by nobody who matters (for "wrong CA" tests).
    public let otherCACertificate: String
    /// The server's certificate (CN localhost, SAN localhost and 127.0.0.1), signed by the CA.
    public let serverCertificate: String
    /// The server's private key (PKCS #8).
    public let serverKey: String
    /// The device's certificate (CN device-1), signed by the CA.
    public let deviceCertificate: String
    /// The device's private key (PKCS #8).
    public let deviceKey: String
    /// A device certificate signed by the other CA.
    public let strangerCertificate: String
    /// The stranger's private key.
    public let strangerKey: String

    /// The path of a file in ``directory``.
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Generated once per test process.
    public static let shared: TestPKI = {
        do { return try make() } catch { fatalError("cannot generate test certificates: \(error)") }
    }()

    /// Generates a fresh set with the `openssl` tool.
    public static func make() throws -> TestPKI {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("swift-lwm2m-dtls-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func openssl(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["openssl"] + arguments
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw NSError(domain: "openssl", code: Int(process.terminationStatus),
                              userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.joined(separator: " "))"])
            }
        }
        func ca(_ name: String, _ cn: String) throws {
            try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(name).key"])
            try openssl(["req", "-x509", "-new", "-key", "\(name).key", "-sha256", "-days", "2", "-subj", "/CN=\(cn)",
                         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
                         "-out", "\(name).pem"])
        }
        func leaf(_ name: String, _ cn: String, signer: String, san: String) throws {
            try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(name).ec.key"])
            try openssl(["pkcs8", "-topk8", "-nocrypt", "-in", "\(name).ec.key", "-out", "\(name).key"])
            try openssl(["req", "-new", "-key", "\(name).key", "-subj", "/CN=\(cn)", "-out", "\(name).csr"])
            let extensions = "basicConstraints=CA:FALSE\nsubjectAltName=\(san)\n"
            try extensions.write(to: directory.appendingPathComponent("\(name).ext"), atomically: true, encoding: .utf8)
            try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "\(signer).pem", "-CAkey", "\(signer).key",
                         "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "\(name).ext", "-out", "\(name).pem"])
        }
        try ca("ca", "swift-lwm2m test CA")
        try ca("other-ca", "swift-lwm2m other test CA")
        try leaf("server", "localhost", signer: "ca", san: "DNS:localhost,IP:127.0.0.1")
        try leaf("device", "device-1", signer: "ca", san: "DNS:device-1")
        try leaf("stranger", "stranger", signer: "other-ca", san: "DNS:stranger")
        func read(_ name: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        return TestPKI(
            directory: directory,
            caCertificate: try read("ca.pem"), otherCACertificate: try read("other-ca.pem"),
            serverCertificate: try read("server.pem"), serverKey: try read("server.key"),
            deviceCertificate: try read("device.pem"), deviceKey: try read("device.key"),
            strangerCertificate: try read("stranger.pem"), strangerKey: try read("stranger.key"))
    }
}
