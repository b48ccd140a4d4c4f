import CoAPCore
import Codecs
import LwM2MModel
import NIOCore

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
    try parseRegistrationLinks(ByteBuffer(bytes: bytes))
}

/// Parses a registration payload in place (no copy of the bytes).
func parseRegistrationLinks(_ payload: ByteBuffer) throws(RegistrationPayloadError) -> [RegistrationLink] {
    let result = payload.withUnsafeReadableBytes { bytes -> Result<CoRELinkFormat, LwM2MCodecError>? in
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) { return nil }
        do throws(LwM2MCodecError) {
            return .success(
                try CoRELinkFormat(
                    parsing: bytes,
                    limits: .init(maxLinks: maxRegistrationLinks, maxAttributesPerLink: maxLinkAttributes, maxLength: 1 << 20)))
        } catch {
            return .failure(error)
        }
    }
    let parsed: CoRELinkFormat
    switch result {
    case .none: return []
    case .some(.success(let p)): parsed = p
    case .some(.failure(let error)): throw RegistrationPayloadError(reason: error.reason, offset: error.offset ?? 0)
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
    var contentFormats: [CoAPContentFormat] = []
    /// Objects ordered by ID.
    var objects: [RegisteredObject] = []
}

/// Whether the space-separated list `list` holds `word` (no allocation).
private func spaceSeparated(_ list: String, contains word: String) -> Bool {
    if list == word { return true }
    var rest = Substring(list)
    while !rest.isEmpty {
        let end = rest.firstIndex(of: " ") ?? rest.endIndex
        if rest[..<end] == word { return true }
        rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
    }
    return false
}

/// The numbers of a space-separated `ct` list, or `nil` when an item is not a 16-bit decimal number.
private func contentFormatList(_ text: String) -> [CoAPContentFormat]? {
    var out: [CoAPContentFormat] = []
    var value: UInt32 = 0
    var digits = 0
    func flush() -> Bool {
        guard digits > 0 else { return true }
        guard digits <= 5, value <= 0xFFFF else { return false }
        let format = CoAPContentFormat(rawValue: UInt16(value))
        if !out.contains(format) { out.append(format) }
        value = 0
        digits = 0
        return true
    }
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            if digits < 6 { value = value * 10 + UInt32(byte - UInt8(ascii: "0")) }
            digits += 1
        case UInt8(ascii: " "):
            guard flush() else { return nil }
        default:
            return nil
        }
    }
    return flush() ? out : nil
}

/// An object or object-instance path under the root: `o` or `o/i` (decimal, at most 5 digits, not 65535).
private enum ObjectPath {
    case object(UInt16)
    case instance(UInt16, UInt16)
    /// Not an LwM2M object path (some other resource of the client).
    case other
    /// Three or more segments.
    case tooDeep
}

private func objectPath(_ rest: Substring) -> ObjectPath {
    var ids: (UInt16, UInt16) = (0, 0)
    var segment = 0
    var value: UInt32 = 0
    var digits = 0
    var valid = true
    for byte in rest.utf8 {
        if byte == UInt8(ascii: "/") {
            if segment == 1 { return .tooDeep }
            guard valid, digits > 0, digits <= 5, value < 0xFFFF else {
                valid = false
                segment += 1
                continue
            }
            ids.0 = UInt16(value)
            segment += 1
            value = 0
            digits = 0
        } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
            if digits < 6 { value = value * 10 + UInt32(byte - UInt8(ascii: "0")) }
            digits += 1
        } else {
            valid = false
        }
    }
    guard valid, digits > 0, digits <= 5, value < 0xFFFF else { return .other }
    if segment == 0 { return .object(UInt16(value)) }
    ids.1 = UInt16(value)
    return .instance(ids.0, ids.1)
}

/// Interprets registration links (Core TS 6.2.1.1 / 5.3.1 in 1.0): the root link carrying `rt="oma.lwm2m"`
/// (alternate path and `ct`), object links with `ver`, object-instance links. Links outside the root path are
/// ignored (they are not LwM2M objects); malformed object paths under it are errors.
///
/// Allocation-lean: paths and `ct` are scanned in place, objects are kept sorted as they come (clients list them in
/// order, so this is an append).
func interpretRegistrationLinks(_ links: [RegistrationLink]) throws(RegistrationPayloadError) -> RegistrationObjectTree {
    var tree = RegistrationObjectTree()
    // The root link: rt="oma.lwm2m" (several rt values may be space separated).
    for link in links {
        guard let rt = link.attribute("rt"), spaceSeparated(rt, contains: "oma.lwm2m") else { continue }
        var root = link.target
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        guard root.hasPrefix("/") else {
            throw RegistrationPayloadError(reason: "root path \(link.target) is not absolute", offset: 0)
        }
        tree.rootPath = root
        if let ct = link.attribute("ct") {
            guard let formats = contentFormatList(ct) else {
                throw RegistrationPayloadError(reason: "bad ct value \(ct)", offset: 0)
            }
            tree.contentFormats = formats
        }
        break
    }
    let prefix = tree.rootPath == "/" ? "" : tree.rootPath
    let base = prefix + "/"
    let baseLength = base.utf8.count
    var objects: [RegisteredObject] = []
    objects.reserveCapacity(links.count)
    for link in links {
        let target = link.target
        guard target.hasPrefix(base) else { continue }
        let rest = target.dropFirst(baseLength)
        if rest.isEmpty { continue }  // the root link itself
        let objectID: UInt16
        var instanceID: UInt16?
        switch objectPath(rest) {
        case .tooDeep:
            throw RegistrationPayloadError(reason: "\(target) is deeper than an object instance", offset: 0)
        case .other:
            // A link under the root that is not an LwM2M path: other resources of the client; ignore them only at
            // the root "/" (e.g. </.well-known/core>), reject under an alternate path.
            if prefix.isEmpty { continue }
            throw RegistrationPayloadError(reason: "\(target) is not an LwM2M object path", offset: 0)
        case .object(let o): objectID = o
        case .instance(let o, let i):
            objectID = o
            instanceID = i
        }
        // The object's slot, in ID order (an append for ordered payloads).
        var index = objects.endIndex
        if let last = objects.last, last.id >= objectID {
            var lo = 0
            var hi = objects.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if objects[mid].id < objectID { lo = mid + 1 } else { hi = mid }
            }
            index = lo
        }
        if index == objects.endIndex || objects[index].id != objectID {
            objects.insert(RegisteredObject(id: objectID), at: index)
        }
        if let ver = link.attribute("ver") {
            guard LwM2MVersion(ver) != nil else {
                throw RegistrationPayloadError(reason: "bad ver value \(ver) on \(target)", offset: 0)
            }
            objects[index].version = ver
        }
        if let instanceID {
            let instances = objects[index].instances
            if let last = instances.last, last >= instanceID {
                if !instances.contains(instanceID) {
                    objects[index].instances.insert(instanceID, at: instances.firstIndex { $0 > instanceID }!)
                }
            } else {
                objects[index].instances.append(instanceID)
            }
        }
    }
    tree.objects = objects
    return tree
}
