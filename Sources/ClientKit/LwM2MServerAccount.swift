import LwM2MModel

/// The Security Mode resource of a Security instance (/0/x/2, Core TS E.1).
public struct LwM2MSecurityMode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The resource's integer value.
    public let rawValue: Int64

    /// Creates a mode from its resource value.
    public init(rawValue: Int64) { self.rawValue = rawValue }

    /// 0: pre-shared key (identity in /0/x/3, key in /0/x/5).
    public static let preSharedKey = LwM2MSecurityMode(rawValue: 0)
    /// 1: raw public key (not available with OpenSSL 3.0).
    public static let rawPublicKey = LwM2MSecurityMode(rawValue: 1)
    /// 2: X.509 certificate (own certificate in /0/x/3, private key in /0/x/5, server certificate or CA in
    /// /0/x/4, all DER).
    public static let certificate = LwM2MSecurityMode(rawValue: 2)
    /// 3: no security (plain `coap://`).
    public static let noSecurity = LwM2MSecurityMode(rawValue: 3)
    /// 4: certificate with EST (not supported).
    public static let certificateWithEST = LwM2MSecurityMode(rawValue: 4)

    /// The mode's name, e.g. `PSK`.
    public var description: String {
        switch self {
        case .preSharedKey: return "PSK"
        case .rawPublicKey: return "RPK"
        case .certificate: return "Certificate"
        case .noSecurity: return "NoSec"
        case .certificateWithEST: return "Certificate with EST"
        default: return "mode \(rawValue)"
        }
    }
}

/// A `coap://` or `coaps://` server URI split into its parts (Core TS: the LwM2M Server URI, /0/x/0).
public struct LwM2MServerURI: Hashable, Sendable, CustomStringConvertible {
    /// `coap` or `coaps`.
    public var scheme: String
    /// The host name or IP literal (without brackets).
    public var host: String
    /// The port (5683 for `coap`, 5684 for `coaps` when the URI has none).
    public var port: Int

    /// Whether the scheme asks for DTLS.
    public var isSecure: Bool { scheme == "coaps" }

    /// Parses `coap://HOST[:PORT][/...]` or `coaps://...` (IPv6 literals in brackets).
    public init(parsing text: String) throws(LwM2MClientError) {
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("coaps://") {
            scheme = "coaps"
        } else if lower.hasPrefix("coap://") {
            scheme = "coap"
        } else {
            throw LwM2MClientError.badRequest("server URI must start with coap:// or coaps://: \(text)")
        }
        var rest = Substring(text.dropFirst(scheme.count + 3))
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let defaultPort = scheme == "coaps" ? 5684 : 5683
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw LwM2MClientError.badRequest("bad IPv6 literal in server URI \(text)")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw LwM2MClientError.badRequest("bad server URI \(text)") }
                portText = after.dropFirst()
            }
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw LwM2MClientError.badRequest("bad server URI \(text)") }
            host = parts[0]
            if parts.count == 2 { portText = parts[1] }
        }
        guard !host.isEmpty else { throw LwM2MClientError.badRequest("server URI without host: \(text)") }
        var port = defaultPort
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw LwM2MClientError.badRequest("bad port in server URI \(text)")
            }
            port = p
        }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
    }

    /// `scheme://host:port`.
    public var description: String {
        host.contains(":") ? "\(scheme)://[\(host)]:\(port)" : "\(scheme)://\(host):\(port)"
    }
}

/// One server account as the Security (0) and Server (1) objects describe it: the Security instance with
/// Short Server ID /0/x/10 paired with the Server instance whose /1/y/0 holds the same ID.
///
/// A bootstrap account (/0/x/1 = true) has no Server instance.
public struct LwM2MServerAccount: Hashable, Sendable, CustomStringConvertible {
    /// The Short Server ID (/0/x/10, /1/y/0); 0 for a bootstrap account without one.
    public var shortServerID: UInt16
    /// The Security instance (x in /0/x).
    public var securityInstanceID: UInt16
    /// The Server instance (y in /1/y); `nil` for a bootstrap account.
    public var serverInstanceID: UInt16?
    /// The server URI (/0/x/0).
    public var serverURI: String
    /// Whether this is the bootstrap server's account (/0/x/1).
    public var isBootstrapServer: Bool
    /// The security mode (/0/x/2).
    public var securityMode: LwM2MSecurityMode
    /// PSK identity (mode 0) or the client's certificate, DER (mode 2): /0/x/3.
    public var publicKeyOrIdentity: [UInt8]
    /// The server's certificate or CA certificate, DER (mode 2): /0/x/4.
    public var serverPublicKey: [UInt8]
    /// The pre-shared key (mode 0) or the client's private key, DER (mode 2): /0/x/5.
    public var secretKey: [UInt8]
    /// The registration lifetime (/1/y/1), if set.
    public var lifetime: UInt32?
    /// The binding (/1/y/7), if set, e.g. `U` or `UQ`.
    public var binding: String?

    /// Creates an account description.
    public init(
        shortServerID: UInt16, securityInstanceID: UInt16, serverInstanceID: UInt16?, serverURI: String,
        isBootstrapServer: Bool = false, securityMode: LwM2MSecurityMode = .noSecurity,
        publicKeyOrIdentity: [UInt8] = [], serverPublicKey: [UInt8] = [], secretKey: [UInt8] = [],
        lifetime: UInt32? = nil, binding: String? = nil
    ) {
        self.shortServerID = shortServerID
        self.securityInstanceID = securityInstanceID
        self.serverInstanceID = serverInstanceID
        self.serverURI = serverURI
        self.isBootstrapServer = isBootstrapServer
        self.securityMode = securityMode
        self.publicKeyOrIdentity = publicKeyOrIdentity
        self.serverPublicKey = serverPublicKey
        self.secretKey = secretKey
        self.lifetime = lifetime
        self.binding = binding
    }

    /// The PSK identity as text (mode 0).
    public var pskIdentity: String { String(decoding: publicKeyOrIdentity, as: UTF8.self) }

    /// Whether two descriptions need the same connection (URI, mode and credentials); lifetime and binding
    /// changes are handled by the running session.
    public func sameConnection(as other: LwM2MServerAccount) -> Bool {
        serverURI == other.serverURI && securityMode == other.securityMode
            && publicKeyOrIdentity == other.publicKeyOrIdentity && serverPublicKey == other.serverPublicKey
            && secretKey == other.secretKey && securityInstanceID == other.securityInstanceID
            && serverInstanceID == other.serverInstanceID
    }

    /// The account without its secrets, e.g. `SSID 1 coaps://host:5684 (PSK)`.
    public var description: String {
        "\(isBootstrapServer ? "bootstrap" : "SSID \(shortServerID)") \(serverURI) (\(securityMode))"
    }

    /// The accounts the tree's Security and Server objects describe, sorted by Short Server ID (bootstrap
    /// accounts last). A non-bootstrap Security instance without a matching Server instance, with a Short Server
    /// ID outside 1...65534, or repeating the ID of a lower Security instance is left out.
    public static func accounts(in tree: LwM2MObjectTree) -> [LwM2MServerAccount] {
        var servers: [UInt16: UInt16] = [:]
        for y in tree.instanceIDs(of: 1) {
            if let id = integer(tree.value(at: .resource(1, y, 0))), let ssid = UInt16(exactly: id), servers[ssid] == nil {
                servers[ssid] = y
            }
        }
        var result: [LwM2MServerAccount] = []
        for x in tree.instanceIDs(of: 0) {
            let isBootstrap = tree.value(at: .resource(0, x, 1)) == .boolean(true)
            let ssid = integer(tree.value(at: .resource(0, x, 10))).flatMap { UInt16(exactly: $0) }
            guard case .string(let uri)? = tree.value(at: .resource(0, x, 0)) else { continue }
            var account = LwM2MServerAccount(
                shortServerID: ssid ?? 0, securityInstanceID: x, serverInstanceID: nil, serverURI: uri,
                isBootstrapServer: isBootstrap,
                securityMode: LwM2MSecurityMode(rawValue: integer(tree.value(at: .resource(0, x, 2))) ?? 3),
                publicKeyOrIdentity: bytes(tree.value(at: .resource(0, x, 3))),
                serverPublicKey: bytes(tree.value(at: .resource(0, x, 4))),
                secretKey: bytes(tree.value(at: .resource(0, x, 5))))
            if !isBootstrap {
                // Short Server IDs are 1...65534 and name one account; a second Security instance with the same ID
                // (a broken configuration) is ignored rather than fought over.
                guard let ssid, (1...65534).contains(ssid), let y = servers[ssid],
                      !result.contains(where: { !$0.isBootstrapServer && $0.shortServerID == ssid }) else { continue }
                account.serverInstanceID = y
                account.lifetime = integer(tree.value(at: .resource(1, y, 1))).flatMap { UInt32(exactly: $0) }
                if case .string(let b)? = tree.value(at: .resource(1, y, 7)) { account.binding = b }
            }
            result.append(account)
        }
        return result.sorted { ($0.isBootstrapServer ? 1 : 0, $0.shortServerID) < ($1.isBootstrapServer ? 1 : 0, $1.shortServerID) }
    }

    static func integer(_ value: LwM2MValue?) -> Int64? {
        switch value {
        case .integer(let v): return v
        case .unsignedInteger(let v): return Int64(exactly: v)
        default: return nil
        }
    }

    static func bytes(_ value: LwM2MValue?) -> [UInt8] {
        switch value {
        case .opaque(let b): return b
        case .string(let s): return Array(s.utf8)
        default: return []
        }
    }
}
