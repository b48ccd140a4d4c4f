import Codecs
import LwM2MModel

/// One link of a registration payload: its target and its attributes in order (values unquoted; `nil` for a
/// bare attribute such as `;obs`).
public struct RegistrationLink: Hashable, Sendable {
    /// The link target as written between `<` and `>`, e.g. `/3/0` or `/lwm2m/3/0`.
    public var target: String
    /// The attributes, e.g. `[("ver", "1.1")]`.
    public var attributes: [Attribute]

    /// One link attribute.
    public struct Attribute: Hashable, Sendable {
        /// The name, e.g. `ver`.
        public var name: String
        /// The value with quotes removed, or `nil` for a bare attribute.
        public var value: String?
        /// Whether the value was written as a quoted string (`rt="oma.lwm2m"`) rather than a token (`ct=110`).
        public var isQuoted: Bool

        /// Creates an attribute.
        public init(name: String, value: String?, isQuoted: Bool = false) {
            self.name = name
            self.value = value
            self.isQuoted = isQuoted
        }

        /// The value as written in link format: quoted values in double quotes (with `"` and `\` escaped), `""`
        /// for a bare attribute.
        public var linkFormatValue: String {
            guard let value else { return "" }
            guard isQuoted else { return value }
            var out = "\""
            for c in value {
                if c == "\"" || c == "\\" { out.append("\\") }
                out.append(c)
            }
            return out + "\""
        }
    }

    /// Creates a link.
    public init(target: String, attributes: [Attribute] = []) {
        self.target = target
        self.attributes = attributes
    }

    /// The value of the first attribute named `name` (`""` for a bare attribute), if present.
    public func attribute(_ name: String) -> String? {
        attributes.first { $0.name == name }.map { $0.value ?? "" }
    }
}

/// Why a registration payload was rejected.
struct RegistrationPayloadError: Error, Sendable, CustomStringConvertible {
    var reason: String
    var offset: Int
    var description: String { offset > 0 ? "\(reason) at byte \(offset)" : reason }
}

/// Limits on registration payloads from a hostile peer.
let maxRegistrationLinks = 8192
let maxLinkAttributes = 32

/// Parses the CoRE link-format (RFC 6690) payload of a Register or Update request with Codecs' parser, within
/// the registration limits.
func parseRegistrationLinks(_ bytes: [UInt8]) throws(RegistrationPayloadError) -> [RegistrationLink] {
    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) { return [] }
    let parsed: CoRELinkFormat
    do {
        parsed = try CoRELinkFormat(
            parsing: bytes,
            limits: .init(maxLinks: maxRegistrationLinks, maxAttributesPerLink: maxLinkAttributes, maxLength: 1 << 20))
    } catch {
        throw RegistrationPayloadError(reason: error.reason, offset: error.offset ?? 0)
    }
    guard parsed.parameters.isEmpty else {
        throw RegistrationPayloadError(reason: "attributes outside any link", offset: 0)
    }
    return parsed.links.map { link in
        RegistrationLink(
            target: link.target,
            attributes: link.attributes.map { a in
                var isQuoted = false
                if case .quoted = a.value { isQuoted = true }
                return RegistrationLink.Attribute(name: a.name, value: a.stringValue, isQuoted: isQuoted)
            })
    }
}

/// What a registration payload says about the client's object tree.
struct RegistrationObjectTree: Sendable {
    /// The alternate root path (`/` when the client uses none), without a trailing slash except for `/`.
    var rootPath: String = "/"
    /// Content formats from `ct` on the root link.
    var contentFormats: [UInt16] = []
    /// Objects ordered by ID.
    var objects: [RegisteredObject] = []
}

/// Interprets registration links (Core TS 6.2.1.1 / 5.3.1 in 1.0): the root link carrying `rt="oma.lwm2m"`
/// (alternate path and `ct`), object links with `ver`, object-instance links. Links outside the root path are
/// ignored (they are not LwM2M objects); malformed object paths under it are errors.
func interpretRegistrationLinks(_ links: [RegistrationLink]) throws(RegistrationPayloadError) -> RegistrationObjectTree {
    var tree = RegistrationObjectTree()
    // The root link: rt="oma.lwm2m" (several rt values may be space separated).
    for link in links {
        guard let rt = link.attribute("rt"), rt.split(separator: " ").contains("oma.lwm2m") else { continue }
        var root = link.target
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        guard root.hasPrefix("/") else {
            throw RegistrationPayloadError(reason: "root path \(link.target) is not absolute", offset: 0)
        }
        tree.rootPath = root
        if let ct = link.attribute("ct") {
            for item in ct.split(separator: " ") {
                guard let number = UInt16(item) else {
                    throw RegistrationPayloadError(reason: "bad ct value \(ct)", offset: 0)
                }
                if !tree.contentFormats.contains(number) { tree.contentFormats.append(number) }
            }
        }
        break
    }
    let prefix = tree.rootPath == "/" ? "" : tree.rootPath
    var objects: [UInt16: RegisteredObject] = [:]
    for link in links {
        let target = link.target
        guard target.hasPrefix(prefix + "/") else { continue }
        let rest = target.dropFirst(prefix.count + 1)
        if rest.isEmpty { continue }  // the root link itself
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            throw RegistrationPayloadError(reason: "\(target) is deeper than an object instance", offset: 0)
        }
        var ids: [UInt16] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 5, p.allSatisfy({ $0 >= "0" && $0 <= "9" }), let id = UInt16(p), id != 0xFFFF
            else {
                // A link under the root that is not an LwM2M path: other resources of the client; ignore them
                // only at the root "/" (e.g. </.well-known/core>), reject under an alternate path.
                if prefix.isEmpty { ids = []; break }
                throw RegistrationPayloadError(reason: "\(target) is not an LwM2M object path", offset: 0)
            }
            ids.append(id)
        }
        guard let objectID = ids.first else { continue }
        var object = objects[objectID] ?? RegisteredObject(id: objectID)
        if let ver = link.attribute("ver") {
            guard LwM2MVersion(ver) != nil else {
                throw RegistrationPayloadError(reason: "bad ver value \(ver) on \(target)", offset: 0)
            }
            object.version = ver
        }
        if ids.count == 2 {
            if !object.instances.contains(ids[1]) { object.instances.append(ids[1]) }
        }
        objects[objectID] = object
    }
    tree.objects = objects.values.map { o in
        var o = o
        o.instances.sort()
        return o
    }.sorted { $0.id < $1.id }
    return tree
}
