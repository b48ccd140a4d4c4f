/// The names of the LwM2M attributes (Core TS "Attributes"): NOTIFICATION class pmin, pmax, gt, lt, st,
/// epmin, epmax (1.1), edge, con, hqmax (1.2); PROPERTIES class dim, ssid, uri, ver, lwm2m.
public enum LwM2MAttributeName: String, Sendable, Hashable, CaseIterable, Comparable {
    /// NOTIFICATION attributes: minimum/maximum period, greater than, less than, step, minimum/maximum
    /// evaluation period, edge, confirmable notification, maximum historical queue.
    case pmin, pmax, gt, lt, st, epmin, epmax, edge, con, hqmax
    /// PROPERTIES attributes: dimension, Short Server ID, server URI, object version, LwM2M version.
    case dim, ssid, uri, ver, lwm2m

    /// The attribute's class.
    public enum Class: Sendable, Hashable {
        /// Observation and notification parameters, writable with Write-Attributes.
        case notification
        /// Read-only properties reported in Discover and Register.
        case properties
    }

    /// NOTIFICATION or PROPERTIES.
    public var attributeClass: Class {
        switch self {
        case .dim, .ssid, .uri, .ver, .lwm2m: return .properties
        default: return .notification
        }
    }

    /// The first LwM2M version defining the attribute.
    public var introducedIn: LwM2MVersion {
        switch self {
        case .epmin, .epmax: return .v1_1
        case .edge, .con, .hqmax: return .v1_2
        default: return .v1_0
        }
    }

    /// The path levels the attribute may be attached to.
    public var levels: Set<LwM2MPath.Level> {
        switch self {
        case .pmin, .pmax, .epmin, .epmax, .con, .hqmax: return [.object, .objectInstance, .resource, .resourceInstance]
        case .gt, .lt, .st, .edge: return [.resource, .resourceInstance]
        case .dim: return [.resource]
        case .ssid, .uri: return [.objectInstance]
        case .ver: return [.object]
        case .lwm2m: return [.root]
        }
    }

    /// Canonical (declaration) order.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A link-format parameter that is not an LwM2M attribute (e.g. `rt="oma.lwm2m"`, `ct=110`), kept as text.
public struct LwM2MLinkParameter: Hashable, Sendable {
    /// The parameter name.
    public var name: String
    /// The value without quotes, or `nil` for a bare parameter.
    public var value: String?

    /// Creates a parameter.
    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

/// A set of LwM2M attributes, as carried by Write-Attributes queries (`?pmin=10&pmax=60&gt=20.5`),
/// Discover responses and Register payloads (`</3/0/9>;pmin=10;dim=2`).
///
/// An attribute named without a value (`?pmin`) is "cleared": Write-Attributes uses that to remove it.
public struct LwM2MAttributes: Hashable, Sendable, CustomStringConvertible {
    /// Minimum period between notifications, seconds.
    public var pmin: UInt32?
    /// Maximum period between notifications, seconds.
    public var pmax: UInt32?
    /// Greater-than threshold.
    public var gt: Double?
    /// Less-than threshold.
    public var lt: Double?
    /// Step: minimum change that triggers a notification (non-negative).
    public var st: Double?
    /// Minimum evaluation period, seconds (LwM2M 1.1).
    public var epmin: UInt32?
    /// Maximum evaluation period, seconds (LwM2M 1.1).
    public var epmax: UInt32?
    /// Edge: notify on the falling (false) or rising (true) edge of a boolean resource (LwM2M 1.2).
    public var edge: Bool?
    /// Confirmable notifications (LwM2M 1.2).
    public var con: Bool?
    /// Maximum historical queue, seconds (LwM2M 1.2).
    public var hqmax: UInt32?
    /// Dimension: number of instances of a multiple resource (0...255).
    public var dim: UInt8?
    /// Short Server ID (1...65534).
    public var ssid: UInt16?
    /// Server URI.
    public var uri: String?
    /// Object version.
    public var ver: LwM2MVersion?
    /// LwM2M enabler version.
    public var lwm2m: LwM2MVersion?
    /// Attributes named without a value (to be removed by Write-Attributes).
    public var cleared: Set<LwM2MAttributeName> = []
    /// Link-format parameters that are not LwM2M attributes, in order of appearance.
    public var otherParameters: [LwM2MLinkParameter] = []

    /// Creates an empty set.
    public init() {}

    /// Whether nothing is set, cleared or carried along.
    public var isEmpty: Bool { self == LwM2MAttributes() }

    /// The attributes that have a value, in canonical order.
    public var names: [LwM2MAttributeName] {
        LwM2MAttributeName.allCases.filter { textValue(of: $0) != nil }
    }

    // MARK: Parsing

    /// Parses a Write-Attributes query string: `pmin=10&pmax=60&gt=20.5` (a leading `?` is allowed; `pmin`
    /// without a value clears it). Unknown names are an error.
    ///
    /// - Throws: ``LwM2MAttributeError`` (`.unknownAttribute`, `.invalidValue`, `.duplicateAttribute`).
    public init(query: some StringProtocol) throws(LwM2MAttributeError) {
        var text = Substring(query)
        if text.first == "?" { text = text.dropFirst() }
        try self.init(queryItems: text.isEmpty ? [] : text.split(separator: "&", omittingEmptySubsequences: false))
    }

    /// Parses CoAP Uri-Query option values, one attribute each (`["pmin=10", "pmax=60"]`).
    ///
    /// - Throws: ``LwM2MAttributeError`` (`.unknownAttribute`, `.invalidValue`, `.duplicateAttribute`).
    public init(queryItems: some Sequence<some StringProtocol>) throws(LwM2MAttributeError) {
        self.init()
        for item in queryItems {
            let (name, value) = Self.split(Substring(item))
            guard let attribute = LwM2MAttributeName(rawValue: String(name)) else {
                throw LwM2MAttributeError(
                    code: .unknownAttribute, reason: "not an LwM2M attribute", attribute: String(name))
            }
            try set(attribute, text: value.map(String.init))
        }
    }

    /// Parses a link-format attribute list: `;pmin=10;pmax=60;dim=2;uri="coap://h"` (the leading `;` is
    /// optional). Quoted values may hold `;` and `,`. Parameters that are not LwM2M attributes are kept in
    /// ``otherParameters``.
    ///
    /// - Throws: ``LwM2MAttributeError`` (`.invalidValue`, `.duplicateAttribute`).
    public init(linkAttributes: some StringProtocol) throws(LwM2MAttributeError) {
        self.init()
        for (name, value) in try Self.splitLinkParameters(String(linkAttributes)) {
            if let attribute = LwM2MAttributeName(rawValue: name) {
                try set(attribute, text: value)
            } else {
                otherParameters.append(LwM2MLinkParameter(name: name, value: value))
            }
        }
    }

    static func split(_ item: Substring) -> (Substring, Substring?) {
        guard let eq = item.firstIndex(of: "=") else { return (item, nil) }
        return (item[..<eq], item[item.index(after: eq)...])
    }

    static func splitLinkParameters(_ text: String) throws(LwM2MAttributeError) -> [(String, String?)] {
        var result: [(String, String?)] = []
        var chars = Substring(text).trimmingLeadingSpaces()
        while !chars.isEmpty {
            if chars.first == ";" {
                chars = chars.dropFirst()
                continue
            }
            let nameEnd = chars.firstIndex { $0 == "=" || $0 == ";" } ?? chars.endIndex
            let name = String(chars[..<nameEnd]).trimmingSpaces()
            guard !name.isEmpty else {
                throw LwM2MAttributeError(code: .invalidValue, reason: "empty parameter name", attribute: nil)
            }
            chars = chars[nameEnd...]
            guard chars.first == "=" else {
                result.append((name, nil))
                continue
            }
            chars = chars.dropFirst()
            if chars.first == "\"" {
                var value = ""
                var index = chars.index(after: chars.startIndex)
                var closed = false
                while index < chars.endIndex {
                    let c = chars[index]
                    if c == "\\", chars.index(after: index) < chars.endIndex {
                        index = chars.index(after: index)
                        value.append(chars[index])
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(c)
                    }
                    index = chars.index(after: index)
                }
                guard closed else {
                    throw LwM2MAttributeError(code: .invalidValue, reason: "unterminated quoted value", attribute: name)
                }
                chars = chars[chars.index(after: index)...]
                result.append((name, value))
            } else {
                let end = chars.firstIndex(of: ";") ?? chars.endIndex
                result.append((name, String(chars[..<end]).trimmingSpaces()))
                chars = chars[end...]
            }
        }
        return result
    }

    /// Sets `name` from its text form; `nil` text clears it.
    ///
    /// - Throws: ``LwM2MAttributeError`` `.invalidValue` or `.duplicateAttribute` (already set or cleared).
    public mutating func set(_ name: LwM2MAttributeName, text: String?) throws(LwM2MAttributeError) {
        guard textValue(of: name) == nil, !cleared.contains(name) else {
            throw LwM2MAttributeError(code: .duplicateAttribute, reason: "given twice", attribute: name.rawValue)
        }
        guard let text else {
            cleared.insert(name)
            return
        }
        func bad(_ why: String) -> LwM2MAttributeError {
            LwM2MAttributeError(code: .invalidValue, reason: "\"\(text)\" \(why)", attribute: name.rawValue)
        }
        switch name {
        case .pmin, .pmax, .epmin, .epmax, .hqmax:
            guard let v = Self.unsigned(text, max: UInt64(UInt32.max)) else {
                throw bad("is not a number of seconds (0...\(UInt32.max))")
            }
            switch name {
            case .pmin: pmin = UInt32(v)
            case .pmax: pmax = UInt32(v)
            case .epmin: epmin = UInt32(v)
            case .epmax: epmax = UInt32(v)
            default: hqmax = UInt32(v)
            }
        case .gt, .lt, .st:
            guard let v = Self.decimal(text) else { throw bad("is not a decimal number") }
            switch name {
            case .gt: gt = v
            case .lt: lt = v
            default:
                guard v >= 0 else { throw bad("is negative; a step is at least 0") }
                st = v
            }
        case .edge, .con:
            guard text == "0" || text == "1" else { throw bad("must be 0 or 1") }
            if name == .edge { edge = text == "1" } else { con = text == "1" }
        case .dim:
            guard let v = Self.unsigned(text, max: 255) else { throw bad("is not a dimension (0...255)") }
            dim = UInt8(v)
        case .ssid:
            guard let v = Self.unsigned(text, max: 65534), v >= 1 else { throw bad("is not a Short Server ID (1...65534)") }
            ssid = UInt16(v)
        case .uri:
            guard !text.isEmpty else { throw bad("is empty") }
            uri = text
        case .ver, .lwm2m:
            guard text.contains("."), let v = LwM2MVersion(text) else { throw bad("is not a version like 1.1") }
            if name == .ver { ver = v } else { lwm2m = v }
        }
    }

    /// Removes `name` (its value and any "cleared" mark).
    public mutating func remove(_ name: LwM2MAttributeName) {
        cleared.remove(name)
        switch name {
        case .pmin: pmin = nil
        case .pmax: pmax = nil
        case .gt: gt = nil
        case .lt: lt = nil
        case .st: st = nil
        case .epmin: epmin = nil
        case .epmax: epmax = nil
        case .edge: edge = nil
        case .con: con = nil
        case .hqmax: hqmax = nil
        case .dim: dim = nil
        case .ssid: ssid = nil
        case .uri: uri = nil
        case .ver: ver = nil
        case .lwm2m: lwm2m = nil
        }
    }

    /// The attributes after a Write-Attributes `update`: values in `update` replace these, attributes it
    /// clears are removed. The result has no cleared marks.
    public func applying(_ update: LwM2MAttributes) -> LwM2MAttributes {
        var result = self
        result.cleared = []
        for name in update.cleared { result.remove(name) }
        for name in update.names {
            result.remove(name)
            try? result.set(name, text: update.textValue(of: name))
        }
        return result
    }

    static func unsigned(_ text: String, max: UInt64) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let v = UInt64(text), v <= max
        else { return nil }
        return v
    }

    static func decimal(_ text: String) -> Double? {
        // Only plain decimal notation (no hex, inf or nan), as in the query strings peers send.
        guard !text.isEmpty, text.utf8.count <= 64,
              text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 || $0 == 43 || $0 == 101 || $0 == 69 }),
              text.utf8.contains(where: { $0 >= 48 && $0 <= 57 }),
              let v = Double(text), v.isFinite
        else { return nil }
        return v
    }

    // MARK: Printing

    /// The text form of `name`'s value (unquoted), or `nil` when it has none.
    public func textValue(of name: LwM2MAttributeName) -> String? {
        switch name {
        case .pmin: return pmin.map { String($0) }
        case .pmax: return pmax.map { String($0) }
        case .gt: return gt.map(Self.format)
        case .lt: return lt.map(Self.format)
        case .st: return st.map(Self.format)
        case .epmin: return epmin.map { String($0) }
        case .epmax: return epmax.map { String($0) }
        case .edge: return edge.map { $0 ? "1" : "0" }
        case .con: return con.map { $0 ? "1" : "0" }
        case .hqmax: return hqmax.map { String($0) }
        case .dim: return dim.map { String($0) }
        case .ssid: return ssid.map { String($0) }
        case .uri: return uri
        case .ver: return ver?.description
        case .lwm2m: return lwm2m?.description
        }
    }

    /// Integral values without a fraction (`20`), others in Swift's shortest round-trip form (`20.5`).
    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// The query items in canonical order (`["pmin=10", "pmax=60", "gt"]`): set attributes, then cleared ones.
    public var queryItems: [String] {
        var items: [String] = []
        for name in LwM2MAttributeName.allCases {
            if let value = textValue(of: name) { items.append("\(name.rawValue)=\(value)") }
        }
        for name in cleared.sorted() { items.append(name.rawValue) }
        return items
    }

    /// The query string, `pmin=10&pmax=60&gt=20.5` (no leading `?`; empty when there is nothing).
    public var queryString: String { queryItems.joined(separator: "&") }

    /// The link-format attribute list, `;pmin=10;pmax=60;uri="coap://h"` (LwM2M attributes in canonical
    /// order, then the other parameters as parsed, quoted unless they are plain numbers; empty when there is
    /// nothing).
    public var linkFormat: String {
        var s = ""
        for name in LwM2MAttributeName.allCases {
            guard let value = textValue(of: name) else { continue }
            s += ";\(name.rawValue)="
            s += name == .uri ? Self.quote(value) : value
        }
        for name in cleared.sorted() { s += ";\(name.rawValue)" }
        for p in otherParameters {
            s += ";\(p.name)"
            if let v = p.value {
                // Numbers (ct=110) go bare; anything else is quoted, as rt="oma.lwm2m" conventionally is.
                let number = !v.isEmpty && v.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
                s += "=" + (number ? v : Self.quote(v))
            }
        }
        return s
    }

    static func quote(_ value: String) -> String {
        var s = "\""
        for c in value {
            if c == "\"" || c == "\\" { s.append("\\") }
            s.append(c)
        }
        return s + "\""
    }

    /// The query string.
    public var description: String { queryString }
}

// MARK: - Validation

extension LwM2MAttributes {
    /// Checks these attributes against the specification's rules for a target at `level`.
    ///
    /// - Parameters:
    ///   - level: the level of the path the attributes are attached to.
    ///   - resource: the target resource's definition, when known (enables the type checks).
    ///   - version: the LwM2M version in use (attributes and levels introduced later are rejected).
    ///   - forWriteAttributes: reject PROPERTIES attributes, which are read-only.
    /// - Throws: ``LwM2MAttributeError``: `.readOnly`, `.unsupportedVersion`, `.notApplicable`,
    ///   `.wrongResourceType` or `.invalidCombination`.
    public func validate(
        level: LwM2MPath.Level,
        resource: LwM2MResourceDefinition? = nil,
        version: LwM2MVersion = .v1_2,
        forWriteAttributes: Bool = false
    ) throws(LwM2MAttributeError) {
        let present = LwM2MAttributeName.allCases.filter { textValue(of: $0) != nil || cleared.contains($0) }
        if level == .resourceInstance, version < .v1_1, !present.isEmpty {
            throw LwM2MAttributeError(
                code: .notApplicable, reason: "attributes on resource instances need LwM2M 1.1", attribute: nil)
        }
        for name in present {
            if forWriteAttributes, name.attributeClass == .properties {
                throw LwM2MAttributeError(
                    code: .readOnly, reason: "PROPERTIES attributes cannot be written", attribute: name.rawValue)
            }
            if version < name.introducedIn {
                throw LwM2MAttributeError(
                    code: .unsupportedVersion, reason: "defined from LwM2M \(name.introducedIn), in use \(version)",
                    attribute: name.rawValue)
            }
            if !name.levels.contains(level) {
                throw LwM2MAttributeError(
                    code: .notApplicable, reason: "does not apply to the \(level) level", attribute: name.rawValue)
            }
            if let resource {
                switch name {
                case .gt, .lt, .st:
                    guard [.integer, .unsignedInteger, .float].contains(resource.type) else {
                        throw LwM2MAttributeError(
                            code: .wrongResourceType,
                            reason: "applies to numeric resources only; resource \(resource.id) is \(resource.type.rawValue)",
                            attribute: name.rawValue)
                    }
                case .edge:
                    guard resource.type == .boolean else {
                        throw LwM2MAttributeError(
                            code: .wrongResourceType,
                            reason: "applies to boolean resources only; resource \(resource.id) is \(resource.type.rawValue)",
                            attribute: name.rawValue)
                    }
                case .dim:
                    guard resource.isMultiple else {
                        throw LwM2MAttributeError(
                            code: .wrongResourceType, reason: "applies to multiple-instance resources only",
                            attribute: name.rawValue)
                    }
                default:
                    break
                }
            }
        }
        try validateCombinations()
    }

    /// Checks the relations between values: `pmax >= pmin`, `epmax > epmin`, `lt < gt` and, with a step,
    /// `lt + 2 * st < gt`.
    ///
    /// - Throws: ``LwM2MAttributeError`` `.invalidCombination`.
    public func validateCombinations() throws(LwM2MAttributeError) {
        if let pmin, let pmax, pmax < pmin {
            throw LwM2MAttributeError(
                code: .invalidCombination, reason: "pmax (\(pmax)) is less than pmin (\(pmin))", attribute: "pmax")
        }
        if let epmin, let epmax, epmax <= epmin {
            throw LwM2MAttributeError(
                code: .invalidCombination, reason: "epmax (\(epmax)) must be greater than epmin (\(epmin))",
                attribute: "epmax")
        }
        if let lt, let gt {
            guard lt < gt else {
                throw LwM2MAttributeError(
                    code: .invalidCombination, reason: "lt (\(Self.format(lt))) must be less than gt (\(Self.format(gt)))",
                    attribute: "lt")
            }
            if let st, !(lt + 2 * st < gt) {
                throw LwM2MAttributeError(
                    code: .invalidCombination,
                    reason: "lt + 2*st (\(Self.format(lt + 2 * st))) must be less than gt (\(Self.format(gt)))",
                    attribute: "st")
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingLeadingSpaces() -> Substring { drop { $0 == " " } }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
