public import CoAPCore
public import LwM2MModel
public import NIOCore

/// An object a client announced at registration: its ID, its version (`ver`, `nil` meaning the default 1.0)
/// and its instances.
public struct RegisteredObject: Hashable, Sendable {
    /// The object ID.
    public var id: UInt16
    /// The object version from `ver`, or `nil` when the client gave none (1.0).
    public var version: String?
    /// The instance IDs, ascending.
    public var instances: [UInt16]

    /// Creates an announced object.
    public init(id: UInt16, version: String? = nil, instances: [UInt16] = []) {
        self.id = id
        self.version = version
        self.instances = instances
    }
}

/// A client's registration, as the registration interface keeps it.
public struct Registration: Hashable, Sendable {
    /// The registration ID the server assigned (the `<id>` of `/rd/<id>`).
    public var id: String
    /// The endpoint client name (`ep`).
    public var endpoint: String
    /// Where the client's last registration message came from.
    public var address: SocketAddress
    /// The identity a secure transport authenticated, if any.
    public var identity: CoAPPeerIdentity?
    /// The lifetime in seconds (`lt`, default 86400).
    public var lifetime: UInt32
    /// The LwM2M version (`lwm2m`, default 1.0).
    public var version: LwM2MVersion
    /// The bindings (`b`, default U).
    public var binding: LwM2MBinding
    /// Whether the client uses queue mode (the `Q` parameter, or `UQ`-style bindings in 1.0).
    public var queueMode: Bool
    /// The MSISDN for SMS (`sms`).
    public var smsNumber: String?
    /// The alternate path of the client's LwM2M objects (`/` normally).
    public var rootPath: String
    /// The content formats the client declared with `ct` on its root link (empty if none).
    public var supportedContentFormats: [CoAPContentFormat]
    /// The objects and instances the client announced, by ascending ID.
    public var objects: [RegisteredObject]
    /// The links of the last registration payload, as sent.
    public var links: [RegistrationLink]
    /// Query parameters that the registration interface does not define, kept as sent.
    public var additionalParameters: [String: String]
    /// When the client registered.
    public var registeredAt: NIODeadline
    /// When the client last registered or updated.
    public var lastUpdate: NIODeadline
    /// When the registration expires without an Update (lifetime plus the server's grace period).
    public var expiresAt: NIODeadline

    /// Creates a registration (the registration interface builds these; tests and stores may too).
    public init(
        id: String,
        endpoint: String,
        address: SocketAddress,
        identity: CoAPPeerIdentity? = nil,
        lifetime: UInt32 = 86400,
        version: LwM2MVersion = .v1_0,
        binding: LwM2MBinding = .udp,
        queueMode: Bool = false,
        smsNumber: String? = nil,
        rootPath: String = "/",
        supportedContentFormats: [CoAPContentFormat] = [],
        objects: [RegisteredObject] = [],
        links: [RegistrationLink] = [],
        additionalParameters: [String: String] = [:],
        registeredAt: NIODeadline,
        lastUpdate: NIODeadline? = nil,
        expiresAt: NIODeadline
    ) {
        self.id = id
        self.endpoint = endpoint
        self.address = address
        self.identity = identity
        self.lifetime = lifetime
        self.version = version
        self.binding = binding
        self.queueMode = queueMode
        self.smsNumber = smsNumber
        self.rootPath = rootPath
        self.supportedContentFormats = supportedContentFormats
        self.objects = objects
        self.links = links
        self.additionalParameters = additionalParameters
        self.registeredAt = registeredAt
        self.lastUpdate = lastUpdate ?? registeredAt
        self.expiresAt = expiresAt
    }

    /// The announced object with `id` (binary search).
    public func object(_ id: UInt16) -> RegisteredObject? {
        var lo = 0
        var hi = objects.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if objects[mid].id == id { return objects[mid] }
            if objects[mid].id < id { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    /// The version of object `id` the client announced (`ver`), `nil` when absent or unannounced.
    public func objectVersion(_ id: UInt16) -> String? { object(id)?.version }

    /// Whether the client declared support for `format` (with `ct`); legacy 1.0 numbers compare equal.
    public func supports(_ format: CoAPContentFormat) -> Bool {
        supportedContentFormats.contains { $0.canonical == format.canonical }
    }

    /// The Uri-Path segments that address `path` on this client, honouring its alternate root path.
    public func uriPath(for path: LwM2MPath) -> [String] {
        var segments = rootPath == "/" ? [] : rootPath.split(separator: "/").map(String.init)
        for level in 0..<path.depth { segments.append(String(path[level]!)) }
        return segments
    }
}
