/// One attribute of a CoRE link (RFC 6690 `link-param`): `name`, `name=token` or `name="quoted string"`.
public struct CoRELinkAttribute: Hashable, Sendable {
    /// The attribute's value as written.
    public enum Value: Hashable, Sendable {
        /// No value (`;obs`).
        case none
        /// An unquoted value (`;ct=110`), RFC 6690 `ptoken` characters only.
        case token(String)
        /// A quoted value (`;rt="oma.lwm2m"`), unescaped.
        case quoted(String)
    }

    /// The attribute name, e.g. `rt`, `ct`, `ver`, `pmin`.
    public var name: String
    /// The value.
    public var value: Value

    /// Creates an attribute.
    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }

    /// The value as text whether quoted or not; `nil` for a valueless attribute.
    public var stringValue: String? {
        switch value {
        case .none: return nil
        case .token(let s), .quoted(let s): return s
        }
    }
}

/// One link of a CoRE link-format document: `<target>` followed by its attributes in order.
public struct CoRELink: Hashable, Sendable {
    /// The target URI reference between `<` and `>`, e.g. `/3/0`.
    public var target: String
    /// The attributes in the order they appear.
    public var attributes: [CoRELinkAttribute]

    /// Creates a link.
    public init(target: String, attributes: [CoRELinkAttribute] = []) {
        self.target = target
        self.attributes = attributes
    }

    /// The first attribute named `name`, if any.
    public func attribute(_ name: String) -> CoRELinkAttribute? {
        attributes.first { $0.name == name }
    }
}

/// A CoRE Link Format document (RFC 6690, content format 40): the LwM2M Register and Update payloads, and the
/// Discover and Bootstrap-Discover responses.
///
/// It only parses and prints links - the target and its ordered attributes - and attaches no LwM2M meaning to
/// them. LwM2M 1.1 Bootstrap-Discover answers may start with attributes that belong to no link
/// (`lwm2m="1.1",</0/0>;ssid=101,...`); they are kept in ``parameters``.
///
/// ```swift
/// let doc = try CoRELinkFormat(parsing: #"</>;rt="oma.lwm2m";ct=110,</1>;ver=1.1,</1/0>,</3/0>"#)
/// doc.links[1].attribute("ver")?.stringValue  // "1.1"
/// ```
///
/// The parser treats its input as hostile: it checks the grammar byte by byte, caps the number of links and
/// attributes (``Limits``) and reports the offset of the first error.
public struct CoRELinkFormat: Hashable, Sendable {
    /// Attributes before the first link that belong to no link (Bootstrap-Discover's `lwm2m="1.1"`).
    public var parameters: [CoRELinkAttribute]
    /// The links in order.
    public var links: [CoRELink]

    /// Caps the parser applies.
    public struct Limits: Hashable, Sendable {
        /// The most links accepted.
        public var maxLinks: Int
        /// The most attributes accepted on one link.
        public var maxAttributesPerLink: Int
        /// The longest payload accepted, in bytes.
        public var maxLength: Int

        /// Creates limits.
        public init(maxLinks: Int = 10_000, maxAttributesPerLink: Int = 64, maxLength: Int = 1 << 20) {
            self.maxLinks = maxLinks
            self.maxAttributesPerLink = maxAttributesPerLink
            self.maxLength = maxLength
        }

        /// 10 000 links, 64 attributes per link, 1 MiB.
        public static let `default` = Limits()
    }

    /// Creates a document.
    public init(parameters: [CoRELinkAttribute] = [], links: [CoRELink]) {
        self.parameters = parameters
        self.links = links
    }

    /// Parses UTF-8 link-format text.
    public init(parsing text: String, limits: Limits = .default) throws(LwM2MCodecError) {
        var text = text
        let result: Result<CoRELinkFormat, LwM2MCodecError> = text.withUTF8 { buf in
            do throws(LwM2MCodecError) {
                return .success(try CoRELinkFormat(parsing: UnsafeRawBufferPointer(buf), limits: limits))
            } catch { return .failure(error) }
        }
        self = try result.get()
    }

    /// Parses link-format bytes.
    public init(parsing bytes: [UInt8], limits: Limits = .default) throws(LwM2MCodecError) {
        self = try withRawBytes(bytes) { (raw) throws(LwM2MCodecError) in
            try CoRELinkFormat(parsing: raw, limits: limits)
        }
    }

    /// Parses link-format bytes.
    public init(parsing bytes: UnsafeRawBufferPointer, limits: Limits = .default) throws(LwM2MCodecError) {
        guard bytes.count <= limits.maxLength else {
            throw LwM2MCodecError(
                code: .limitExceeded, reason: "link format payload longer than \(limits.maxLength) bytes", offset: 0)
        }
        var parser = LinkParser(bytes: bytes, limits: limits)
        self = try parser.parseDocument()
    }

    /// Appends the document's text to `out`.
    ///
    /// Token values that contain characters a `ptoken` may not are written quoted; a target or attribute name
    /// that cannot be written (e.g. a target containing `>`, an empty name) is `malformed`.
    public func encode(into out: inout [UInt8]) throws(LwM2MCodecError) {
        let start = out.count
        do throws(LwM2MCodecError) {
            for (k, p) in parameters.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ";")) }
                try Self.write(p, &out)
            }
            for (k, link) in links.enumerated() {
                if k > 0 || !parameters.isEmpty { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "<"))
                for c in link.target.utf8 {
                    guard LinkParser.isTargetByte(c) else {
                        throw LwM2MCodecError(code: .malformed, reason: "link target \(link.target) cannot be written")
                    }
                    out.append(c)
                }
                out.append(UInt8(ascii: ">"))
                for a in link.attributes {
                    out.append(UInt8(ascii: ";"))
                    try Self.write(a, &out)
                }
            }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    /// The document as text.
    public func encoded() throws(LwM2MCodecError) -> String {
        var out: [UInt8] = []
        try encode(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func write(_ a: CoRELinkAttribute, _ out: inout [UInt8]) throws(LwM2MCodecError) {
        guard !a.name.isEmpty, a.name.utf8.allSatisfy(LinkParser.isNameByte) else {
            throw LwM2MCodecError(code: .malformed, reason: "attribute name \"\(a.name)\" cannot be written")
        }
        out.append(contentsOf: a.name.utf8)
        switch a.value {
        case .none:
            break
        case .token(let s) where !s.isEmpty && s.utf8.allSatisfy(LinkParser.isTokenByte):
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: s.utf8)
        case .token(let s), .quoted(let s):
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "\""))
            for c in s.utf8 {
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(c)
            }
            out.append(UInt8(ascii: "\""))
        }
    }
}

/// The link-format grammar, one byte at a time.
struct LinkParser {
    let bytes: UnsafeRawBufferPointer
    let limits: CoRELinkFormat.Limits
    var p = 0

    init(bytes: UnsafeRawBufferPointer, limits: CoRELinkFormat.Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// RFC 5988 `attr-char`, plus `*` for extended names such as `title*`.
    static func isNameByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "+"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
            UInt8(ascii: "|"), UInt8(ascii: "~"), UInt8(ascii: "*"):
            return true
        default:
            return false
        }
    }

    /// RFC 6690 `ptokenchar`.
    static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "<"),
            UInt8(ascii: "="), UInt8(ascii: ">"), UInt8(ascii: "?"), UInt8(ascii: "@"), UInt8(ascii: "["),
            UInt8(ascii: "]"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "{"),
            UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Bytes allowed in a target URI reference: visible characters except `<`, `>`, `"` (UTF-8 allowed).
    static func isTargetByte(_ c: UInt8) -> Bool {
        c > 0x20 && c != 0x7F && c != UInt8(ascii: "<") && c != UInt8(ascii: ">") && c != UInt8(ascii: "\"")
    }

    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A
    }

    func fail(_ reason: String, _ at: Int? = nil) -> LwM2MCodecError {
        LwM2MCodecError(code: .malformed, reason: reason, offset: at ?? p)
    }

    mutating func skipSpace() {
        while p < bytes.count && Self.isSpace(bytes[p]) { p += 1 }
    }

    func text(_ from: Int, _ to: Int) throws(LwM2MCodecError) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[from..<to])
        guard let s = String(validating: raw.bindMemoryAssumingUInt8(), as: UTF8.self) else {
            throw fail("not valid UTF-8", from)
        }
        return s
    }

    mutating func parseDocument() throws(LwM2MCodecError) -> CoRELinkFormat {
        var doc = CoRELinkFormat(links: [])
        skipSpace()
        if p == bytes.count { return doc }
        if bytes[p] != UInt8(ascii: "<") {
            // Target-less leading parameters (LwM2M Bootstrap-Discover).
            doc.parameters.append(try parseAttribute())
            while p < bytes.count && bytes[p] == UInt8(ascii: ";") {
                p += 1
                guard doc.parameters.count < limits.maxAttributesPerLink else {
                    throw LwM2MCodecError(code: .limitExceeded, reason: "too many parameters", offset: p)
                }
                doc.parameters.append(try parseAttribute())
            }
            skipSpace()
            if p == bytes.count { return doc }
            guard bytes[p] == UInt8(ascii: ",") else { throw fail("expected ',' after parameters") }
            p += 1
            skipSpace()
        }
        while true {
            guard doc.links.count < limits.maxLinks else {
                throw LwM2MCodecError(code: .limitExceeded, reason: "more than \(limits.maxLinks) links", offset: p)
            }
            doc.links.append(try parseLink())
            skipSpace()
            if p == bytes.count { return doc }
            guard bytes[p] == UInt8(ascii: ",") else { throw fail("expected ',' between links") }
            p += 1
            skipSpace()
        }
    }

    mutating func parseLink() throws(LwM2MCodecError) -> CoRELink {
        guard p < bytes.count else { throw fail("expected a link") }
        guard bytes[p] == UInt8(ascii: "<") else { throw fail("a link starts with '<'") }
        p += 1
        let start = p
        while p < bytes.count && bytes[p] != UInt8(ascii: ">") {
            guard Self.isTargetByte(bytes[p]) else { throw fail("character not allowed in a link target") }
            p += 1
        }
        guard p < bytes.count else { throw fail("link target is not closed with '>'", start - 1) }
        var link = CoRELink(target: try text(start, p))
        p += 1
        while p < bytes.count && bytes[p] == UInt8(ascii: ";") {
            p += 1
            guard link.attributes.count < limits.maxAttributesPerLink else {
                throw LwM2MCodecError(
                    code: .limitExceeded, reason: "more than \(limits.maxAttributesPerLink) attributes", offset: p)
            }
            link.attributes.append(try parseAttribute())
        }
        return link
    }

    mutating func parseAttribute() throws(LwM2MCodecError) -> CoRELinkAttribute {
        let start = p
        while p < bytes.count && Self.isNameByte(bytes[p]) { p += 1 }
        guard p > start else { throw fail("expected an attribute name") }
        let name = try text(start, p)
        guard p < bytes.count && bytes[p] == UInt8(ascii: "=") else {
            return CoRELinkAttribute(name: name, value: .none)
        }
        p += 1
        guard p < bytes.count else { throw fail("expected a value after '='") }
        if bytes[p] == UInt8(ascii: "\"") {
            let open = p
            p += 1
            var value: [UInt8] = []
            while true {
                guard p < bytes.count else { throw fail("quoted value is not closed", open) }
                let c = bytes[p]
                if c == UInt8(ascii: "\"") { break }
                if c == UInt8(ascii: "\\") {
                    p += 1
                    guard p < bytes.count else { throw fail("quoted value is not closed", open) }
                }
                guard bytes[p] >= 0x20 || bytes[p] == 0x09, bytes[p] != 0x7F else {
                    throw fail("control character in a quoted value")
                }
                value.append(bytes[p])
                p += 1
            }
            p += 1
            guard let s = String(validating: value, as: UTF8.self) else { throw fail("not valid UTF-8", open) }
            return CoRELinkAttribute(name: name, value: .quoted(s))
        }
        let vstart = p
        while p < bytes.count && Self.isTokenByte(bytes[p]) { p += 1 }
        guard p > vstart else { throw fail("expected a token or a quoted value") }
        return CoRELinkAttribute(name: name, value: .token(try text(vstart, p)))
    }
}
