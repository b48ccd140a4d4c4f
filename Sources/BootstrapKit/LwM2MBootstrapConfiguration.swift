public import Codecs
public import LwM2MModel

/// What the bootstrap server provisions into one client: the steps and the Security (0), Server (1) and
/// Access Control (2) instances to write. `Codable` as the JSON file format documented in
/// `docs/BootstrapKit.md`.
public struct LwM2MBootstrapConfiguration: Sendable, Hashable, Codable {
    /// Whether to start with Bootstrap-Discover.
    public var discover: Bool
    /// Paths to Bootstrap-Read (e.g. `/1`).
    public var read: [LwM2MPath]
    /// Paths to Bootstrap-Delete (e.g. `/0`, `/1`, or `/`).
    public var delete: [LwM2MPath]
    /// Security object instances to write.
    public var security: [Security]
    /// Server object instances to write.
    public var servers: [Server]
    /// Access Control object instances to write.
    public var accessControl: [AccessControl]
    /// Other object instances to write (after Security, Server and Access Control).
    public var instances: [Instance]
    /// The content format for writes when the client did not send `pct` (`tlv`, `senml+cbor`, `senml+json`).
    public var contentFormat: LwM2MContentFormat?

    /// Creates a configuration.
    public init(
        discover: Bool = false, read: [LwM2MPath] = [], delete: [LwM2MPath] = [], security: [Security] = [],
        servers: [Server] = [], accessControl: [AccessControl] = [], instances: [Instance] = [],
        contentFormat: LwM2MContentFormat? = nil
    ) {
        self.discover = discover
        self.read = read
        self.delete = delete
        self.security = security
        self.servers = servers
        self.accessControl = accessControl
        self.instances = instances
        self.contentFormat = contentFormat
    }

    /// The quick setup of `lwm2m-bootstrap --server-uri`: delete `/0` and `/1`, then one NoSec Security
    /// instance (`/0/1`) and one Server instance (`/1/0`, short server ID 1, binding U) for `serverURI`.
    public static func noSec(serverURI: String, lifetime: Int64 = 300, shortServerID: UInt16 = 1)
        -> LwM2MBootstrapConfiguration
    {
        LwM2MBootstrapConfiguration(
            delete: [.object(0), .object(1)],
            security: [Security(instance: 1, uri: serverURI, shortServerID: shortServerID)],
            servers: [Server(instance: 0, shortServerID: shortServerID, lifetime: lifetime)])
    }

    /// The session plan for this configuration.
    public var plan: LwM2MBootstrapPlan {
        var writes: [LwM2MBootstrapWrite] = []
        writes += security.map { .instance(0, $0.objectInstance) }
        writes += servers.map { .instance(1, $0.objectInstance) }
        writes += accessControl.map { .instance(2, $0.objectInstance) }
        writes += instances.map(\.write)
        return LwM2MBootstrapPlan(
            discover: discover, readPaths: read, deletePaths: delete, writes: writes, preferredFormat: contentFormat)
    }

    // MARK: - Object instances

    /// The LwM2M Security mode (resource /0/x/2).
    public enum SecurityMode: Int64, Sendable, Hashable, Codable {
        /// Pre-Shared Key.
        case psk = 0
        /// Raw Public Key.
        case rpk = 1
        /// X.509 certificate.
        case certificate = 2
        /// No security.
        case noSec = 3
        /// Certificate with EST (1.1).
        case certificateWithEST = 4

        /// Decodes a mode name (`psk`, `rpk`, `x509`, `nosec`, `est`) or its number.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self), let mode = SecurityMode(rawValue: number) {
                self = mode
                return
            }
            let name = (try? container.decode(String.self))?.lowercased()
            switch name {
            case "psk": self = .psk
            case "rpk": self = .rpk
            case "x509", "certificate": self = .certificate
            case "nosec", "no_sec": self = .noSec
            case "est": self = .certificateWithEST
            default:
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected one of psk, rpk, x509, nosec, est or 0...4")
            }
        }

        /// Encodes the mode name.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            let names: [SecurityMode: String] = [
                .psk: "psk", .rpk: "rpk", .certificate: "x509", .noSec: "nosec", .certificateWithEST: "est",
            ]
            try container.encode(names[self] ?? "nosec")
        }
    }

    /// One Security object (0) instance: a server account's URI and credentials.
    public struct Security: Sendable, Hashable, Codable {
        /// The instance ID.
        public var instance: UInt16
        /// LwM2M Server URI (resource 0).
        public var uri: String
        /// Whether this is a bootstrap-server account (resource 1).
        public var bootstrapServer: Bool
        /// Security mode (resource 2).
        public var securityMode: SecurityMode
        /// Public key or identity (resource 3): for PSK the PSK identity bytes.
        public var publicKeyOrIdentity: [UInt8]
        /// Server public key (resource 4).
        public var serverPublicKey: [UInt8]
        /// Secret key (resource 5): for PSK the key.
        public var secretKey: [UInt8]
        /// Short server ID (resource 10); absent for a bootstrap-server account.
        public var shortServerID: UInt16?

        /// Creates a Security instance (NoSec by default).
        public init(
            instance: UInt16, uri: String, bootstrapServer: Bool = false, securityMode: SecurityMode = .noSec,
            publicKeyOrIdentity: [UInt8] = [], serverPublicKey: [UInt8] = [], secretKey: [UInt8] = [],
            shortServerID: UInt16? = nil
        ) {
            self.instance = instance
            self.uri = uri
            self.bootstrapServer = bootstrapServer
            self.securityMode = securityMode
            self.publicKeyOrIdentity = publicKeyOrIdentity
            self.serverPublicKey = serverPublicKey
            self.secretKey = secretKey
            self.shortServerID = shortServerID
        }

        enum CodingKeys: String, CodingKey {
            case instance, uri, bootstrapServer, securityMode, publicKeyOrIdentity, pskIdentity, serverPublicKey
            case secretKey, pskKey, shortServerId
        }

        /// Decodes the JSON form: opaque values as hex strings; `pskIdentity` (text) and `pskKey` (hex) are
        /// shorthands for `publicKeyOrIdentity` and `secretKey`.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            instance = try c.decode(UInt16.self, forKey: .instance)
            uri = try c.decode(String.self, forKey: .uri)
            bootstrapServer = try c.decodeIfPresent(Bool.self, forKey: .bootstrapServer) ?? false
            securityMode = try c.decodeIfPresent(SecurityMode.self, forKey: .securityMode) ?? .noSec
            if let identity = try c.decodeIfPresent(String.self, forKey: .pskIdentity) {
                publicKeyOrIdentity = Array(identity.utf8)
            } else {
                publicKeyOrIdentity = try c.decodeHex(forKey: .publicKeyOrIdentity)
            }
            serverPublicKey = try c.decodeHex(forKey: .serverPublicKey)
            if c.contains(.pskKey) {
                secretKey = try c.decodeHex(forKey: .pskKey)
            } else {
                secretKey = try c.decodeHex(forKey: .secretKey)
            }
            shortServerID = try c.decodeIfPresent(UInt16.self, forKey: .shortServerId)
            if !bootstrapServer && shortServerID == nil {
                throw DecodingError.keyNotFound(
                    CodingKeys.shortServerId,
                    .init(codingPath: c.codingPath, debugDescription: "required unless bootstrapServer is true"))
            }
            if securityMode == .psk && (publicKeyOrIdentity.isEmpty || secretKey.isEmpty) {
                throw DecodingError.dataCorruptedError(
                    forKey: .pskKey, in: c, debugDescription: "psk mode needs pskIdentity and pskKey")
            }
        }

        /// Encodes the JSON form.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(instance, forKey: .instance)
            try c.encode(uri, forKey: .uri)
            try c.encode(bootstrapServer, forKey: .bootstrapServer)
            try c.encode(securityMode, forKey: .securityMode)
            try c.encode(Hex.encode(publicKeyOrIdentity), forKey: .publicKeyOrIdentity)
            try c.encode(Hex.encode(serverPublicKey), forKey: .serverPublicKey)
            try c.encode(Hex.encode(secretKey), forKey: .secretKey)
            try c.encodeIfPresent(shortServerID, forKey: .shortServerId)
        }

        /// The object instance written to `/0/instance`.
        public var objectInstance: LwM2MObjectInstance {
            var resources: [LwM2MResource] = [
                .single(0, .string(uri)),
                .single(1, .boolean(bootstrapServer)),
                .single(2, .integer(securityMode.rawValue)),
                .single(3, .opaque(publicKeyOrIdentity)),
                .single(4, .opaque(serverPublicKey)),
                .single(5, .opaque(secretKey)),
            ]
            if let shortServerID { resources.append(.single(10, .integer(Int64(shortServerID)))) }
            return LwM2MObjectInstance(id: instance, resources: resources)
        }
    }

    /// One Server object (1) instance.
    public struct Server: Sendable, Hashable, Codable {
        /// The instance ID.
        public var instance: UInt16
        /// Short server ID (resource 0).
        public var shortServerID: UInt16
        /// Registration lifetime in seconds (resource 1).
        public var lifetime: Int64
        /// Default minimum period (resource 2).
        public var defaultMinPeriod: Int64?
        /// Default maximum period (resource 3).
        public var defaultMaxPeriod: Int64?
        /// Notification storing when disabled or offline (resource 6).
        public var notificationStoring: Bool
        /// Binding (resource 7), e.g. `U`.
        public var binding: String

        /// Creates a Server instance.
        public init(
            instance: UInt16, shortServerID: UInt16, lifetime: Int64 = 300, defaultMinPeriod: Int64? = nil,
            defaultMaxPeriod: Int64? = nil, notificationStoring: Bool = false, binding: String = "U"
        ) {
            self.instance = instance
            self.shortServerID = shortServerID
            self.lifetime = lifetime
            self.defaultMinPeriod = defaultMinPeriod
            self.defaultMaxPeriod = defaultMaxPeriod
            self.notificationStoring = notificationStoring
            self.binding = binding
        }

        enum CodingKeys: String, CodingKey {
            case instance, shortServerId, lifetime, defaultMinPeriod, defaultMaxPeriod, notificationStoring, binding
        }

        /// Decodes the JSON form (`lifetime` defaults to 300, `binding` to `U`).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            instance = try c.decode(UInt16.self, forKey: .instance)
            shortServerID = try c.decode(UInt16.self, forKey: .shortServerId)
            lifetime = try c.decodeIfPresent(Int64.self, forKey: .lifetime) ?? 300
            defaultMinPeriod = try c.decodeIfPresent(Int64.self, forKey: .defaultMinPeriod)
            defaultMaxPeriod = try c.decodeIfPresent(Int64.self, forKey: .defaultMaxPeriod)
            notificationStoring = try c.decodeIfPresent(Bool.self, forKey: .notificationStoring) ?? false
            binding = try c.decodeIfPresent(String.self, forKey: .binding) ?? "U"
            if lifetime <= 0 {
                throw DecodingError.dataCorruptedError(forKey: .lifetime, in: c, debugDescription: "must be positive")
            }
            if binding.isEmpty || !binding.allSatisfy({ "UTSNQ".contains($0) }) {
                throw DecodingError.dataCorruptedError(
                    forKey: .binding, in: c, debugDescription: "expected letters of U, T, S, N, Q")
            }
        }

        /// Encodes the JSON form.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(instance, forKey: .instance)
            try c.encode(shortServerID, forKey: .shortServerId)
            try c.encode(lifetime, forKey: .lifetime)
            try c.encodeIfPresent(defaultMinPeriod, forKey: .defaultMinPeriod)
            try c.encodeIfPresent(defaultMaxPeriod, forKey: .defaultMaxPeriod)
            try c.encode(notificationStoring, forKey: .notificationStoring)
            try c.encode(binding, forKey: .binding)
        }

        /// The object instance written to `/1/instance`.
        public var objectInstance: LwM2MObjectInstance {
            var resources: [LwM2MResource] = [
                .single(0, .integer(Int64(shortServerID))),
                .single(1, .integer(lifetime)),
            ]
            if let defaultMinPeriod { resources.append(.single(2, .integer(defaultMinPeriod))) }
            if let defaultMaxPeriod { resources.append(.single(3, .integer(defaultMaxPeriod))) }
            resources.append(.single(6, .boolean(notificationStoring)))
            resources.append(.single(7, .string(binding)))
            return LwM2MObjectInstance(id: instance, resources: resources)
        }
    }

    /// One Access Control object (2) instance.
    public struct AccessControl: Sendable, Hashable, Codable {
        /// The instance ID.
        public var instance: UInt16
        /// The object ID it controls (resource 0).
        public var objectID: UInt16
        /// The object instance ID it controls (resource 1; 65535 for creation rights).
        public var objectInstanceID: UInt16
        /// The access rights per short server ID (resource 2; key 0 is the default for other servers).
        public var acl: [UInt16: Int64]
        /// The short server ID of the owner (resource 3).
        public var owner: UInt16

        /// Creates an Access Control instance.
        public init(instance: UInt16, objectID: UInt16, objectInstanceID: UInt16, acl: [UInt16: Int64], owner: UInt16) {
            self.instance = instance
            self.objectID = objectID
            self.objectInstanceID = objectInstanceID
            self.acl = acl
            self.owner = owner
        }

        enum CodingKeys: String, CodingKey {
            case instance, objectId, objectInstanceId, acl, owner
        }

        /// Decodes the JSON form; `acl` is an object from short server ID (as text) to rights bits (0...31).
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            instance = try c.decode(UInt16.self, forKey: .instance)
            objectID = try c.decode(UInt16.self, forKey: .objectId)
            objectInstanceID = try c.decode(UInt16.self, forKey: .objectInstanceId)
            owner = try c.decode(UInt16.self, forKey: .owner)
            let raw = try c.decodeIfPresent([String: Int64].self, forKey: .acl) ?? [:]
            var acl: [UInt16: Int64] = [:]
            for (key, rights) in raw {
                guard let id = UInt16(key), (0...31).contains(rights) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .acl, in: c, debugDescription: "entry \"\(key)\": expected a short server ID and rights 0...31")
                }
                acl[id] = rights
            }
            self.acl = acl
        }

        /// Encodes the JSON form.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(instance, forKey: .instance)
            try c.encode(objectID, forKey: .objectId)
            try c.encode(objectInstanceID, forKey: .objectInstanceId)
            try c.encode(Dictionary(uniqueKeysWithValues: acl.map { (String($0.key), $0.value) }), forKey: .acl)
            try c.encode(owner, forKey: .owner)
        }

        /// The object instance written to `/2/instance`.
        public var objectInstance: LwM2MObjectInstance {
            var resources: [LwM2MResource] = [
                .single(0, .integer(Int64(objectID))),
                .single(1, .integer(Int64(objectInstanceID))),
            ]
            if !acl.isEmpty {
                let instances = acl.keys.sorted().map { LwM2MResourceInstance(id: $0, value: .integer(acl[$0]!)) }
                resources.append(.multiple(2, instances))
            }
            resources.append(.single(3, .integer(Int64(owner))))
            return LwM2MObjectInstance(id: instance, resources: resources)
        }
    }

    // MARK: - Codable

    enum CodingKeys: String, CodingKey {
        case discover, read, delete, security, servers, accessControl, instances, contentFormat
    }

    /// Decodes the JSON form; every key is optional.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        discover = try c.decodeIfPresent(Bool.self, forKey: .discover) ?? false
        read = try c.decodePaths(forKey: .read)
        delete = try c.decodePaths(forKey: .delete)
        security = try c.decodeIfPresent([Security].self, forKey: .security) ?? []
        servers = try c.decodeIfPresent([Server].self, forKey: .servers) ?? []
        accessControl = try c.decodeIfPresent([AccessControl].self, forKey: .accessControl) ?? []
        instances = try c.decodeIfPresent([Instance].self, forKey: .instances) ?? []
        if let name = try c.decodeIfPresent(String.self, forKey: .contentFormat) {
            switch name.lowercased() {
            case "tlv": contentFormat = .tlv
            case "senml+cbor", "senml-cbor": contentFormat = .senmlCBOR
            case "senml+json", "senml-json": contentFormat = .senmlJSON
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: .contentFormat, in: c, debugDescription: "expected tlv, senml+cbor or senml+json")
            }
        } else {
            contentFormat = nil
        }
    }

    /// Encodes the JSON form.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(discover, forKey: .discover)
        try c.encode(read.map(\.description), forKey: .read)
        try c.encode(delete.map(\.description), forKey: .delete)
        try c.encode(security, forKey: .security)
        try c.encode(servers, forKey: .servers)
        try c.encode(accessControl, forKey: .accessControl)
        try c.encode(instances, forKey: .instances)
        let names: [LwM2MContentFormat: String] = [.tlv: "tlv", .senmlCBOR: "senml+cbor", .senmlJSON: "senml+json"]
        try c.encodeIfPresent(contentFormat.flatMap { names[$0] }, forKey: .contentFormat)
    }
}

extension KeyedDecodingContainer {
    fileprivate func decodeHex(forKey key: Key) throws -> [UInt8] {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return [] }
        guard let bytes = Hex.decode(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "expected hex digits")
        }
        return bytes
    }

    fileprivate func decodePaths(forKey key: Key) throws -> [LwM2MPath] {
        let texts = try decodeIfPresent([String].self, forKey: key) ?? []
        var paths: [LwM2MPath] = []
        for text in texts {
            do {
                let path = try LwM2MPath(parsing: text)
                if path.depth > 2 {
                    throw DecodingError.dataCorruptedError(
                        forKey: key, in: self, debugDescription: "\"\(text)\": only /, objects and instances")
                }
                paths.append(path)
            } catch let error as DecodingError {
                throw error
            } catch {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: self, debugDescription: "\"\(text)\" is not an LwM2M path: \(error)")
            }
        }
        return paths
    }
}

/// Hex text helpers for credentials in configuration files.
enum Hex {
    static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let hi = value(digits[i]), let lo = value(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func encode(_ bytes: [UInt8]) -> String {
        let table = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(table[Int(b >> 4)])
            out.append(table[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
