import Foundation
public import LwM2MModel

// The JSON shapes of LwM2M values in commands, results and events:
//
// - a single resource or resource instance: a JSON scalar. Strings, integers, unsigned integers, floats and
//   booleans as themselves; Time as seconds since 1970 (an integer; ISO 8601 text is accepted on input);
//   Opaque as lowercase hex text ("00ad45"); Objlnk as "3:0"; Corelnk as text.
// - a multiple resource: an object of resource-instance ID to scalar, {"0": 1, "1": 5}.
// - an object instance: an object of resource ID to a scalar or a multiple-resource object,
//   {"0": "Acme", "9": 95, "11": {"0": 0}}.
// - an object: an object of instance ID to instance, {"0": {...}, "1": {...}}.
// - records (composite operations, Send): an object of path to scalar, {"/3/0/9": 95, "/1/0/1": 300}.

extension LwM2MValue {
    /// The value in the command layer's JSON shape.
    public var jsonValue: JSONValue {
        switch self {
        case .string(let s): return .string(s)
        case .integer(let i): return .int(i)
        case .unsignedInteger(let u): return u <= UInt64(Int64.max) ? .int(Int64(u)) : .uint(u)
        case .float(let d): return .double(d)
        case .boolean(let b): return .bool(b)
        case .opaque(let bytes): return .string(hexString(bytes))
        case .time(let t): return .int(t)
        case .objectLink(let link): return .string(link.description)
        case .coreLink(let s): return .string(s)
        }
    }

    /// Converts a JSON scalar to a value of `type` (or, when `type` is `nil`, of the JSON value's own kind).
    public init(json: JSONValue, type: LwM2MResourceType?) throws(LwM2MServerError) {
        func bad() -> LwM2MServerError {
            .invalidRequest("\(json.jsonText) is not a valid \(type.map(\.rawValue) ?? "value")")
        }
        guard let type else {
            switch json {
            case .bool(let b): self = .boolean(b)
            case .int(let i): self = .integer(i)
            case .uint(let u): self = .unsignedInteger(u)
            case .double(let d): self = .float(d)
            case .string(let s): self = .string(s)
            default: throw bad()
            }
            return
        }
        switch (type, json) {
        case (.string, .string(let s)): self = .string(s)
        case (.string, .int(let i)): self = .string(String(i))
        case (.string, .uint(let u)): self = .string(String(u))
        case (.string, .double(let d)): self = .string("\(d)")
        case (.string, .bool(let b)): self = .string(b ? "true" : "false")
        case (.integer, .int(let i)): self = .integer(i)
        case (.integer, .double(let d)):
            guard let i = Int64(exactly: d) else { throw bad() }
            self = .integer(i)
        case (.integer, .string(let s)):
            guard let i = Int64(s) else { throw bad() }
            self = .integer(i)
        case (.unsignedInteger, .int(let i)):
            guard i >= 0 else { throw bad() }
            self = .unsignedInteger(UInt64(i))
        case (.unsignedInteger, .uint(let u)): self = .unsignedInteger(u)
        case (.unsignedInteger, .string(let s)):
            guard let u = UInt64(s) else { throw bad() }
            self = .unsignedInteger(u)
        case (.float, .int(let i)): self = .float(Double(i))
        case (.float, .uint(let u)): self = .float(Double(u))
        case (.float, .double(let d)): self = .float(d)
        case (.float, .string(let s)):
            guard let d = Double(s), d.isFinite else { throw bad() }
            self = .float(d)
        case (.boolean, .bool(let b)): self = .boolean(b)
        case (.boolean, .int(let i)) where i == 0 || i == 1: self = .boolean(i == 1)
        case (.boolean, .string(let s)):
            switch s.lowercased() {
            case "true", "1": self = .boolean(true)
            case "false", "0": self = .boolean(false)
            default: throw bad()
            }
        case (.opaque, .string(let s)):
            guard let bytes = parseHex(s) else { throw bad() }
            self = .opaque(bytes)
        case (.time, .int(let i)): self = .time(i)
        case (.time, .double(let d)):
            guard let i = Int64(exactly: d.rounded(.down)) else { throw bad() }
            self = .time(i)
        case (.time, .string(let s)):
            if let i = Int64(s) {
                self = .time(i)
            } else if let date = ISO8601DateFormatter().date(from: s) {
                self = .time(Int64(date.timeIntervalSince1970.rounded(.down)))
            } else {
                throw bad()
            }
        case (.objectLink, .string(let s)):
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let o = UInt16(parts[0]), let i = UInt16(parts[1]) else { throw bad() }
            self = .objectLink(LwM2MObjectLink(objectID: o, instanceID: i))
        case (.coreLink, .string(let s)): self = .coreLink(s)
        default: throw bad()
        }
    }
}

extension LwM2MNode {
    /// The node in the command layer's JSON shape.
    public var jsonValue: JSONValue {
        switch self {
        case .resourceInstance(let ri): return ri.value.jsonValue
        case .resource(let r): return r.jsonValue
        case .objectInstance(let i): return i.jsonValue
        case .object(let o): return .object(o.instances.map { (String($0.id), $0.jsonValue) })
        }
    }

    /// Builds the node for `path` from its JSON shape, typing values with `definitions` (JSON kinds when the
    /// object is unknown). `objectVersion` picks a definition version.
    public init(
        json: JSONValue, at path: LwM2MPath, definitions: any LwM2MDefinitionProvider, objectVersion: String? = nil
    ) throws(LwM2MServerError) {
        guard let objectID = path.objectID else { throw .invalidRequest("cannot write the root path") }
        let object = definitions.objectDefinition(objectID, version: objectVersion)
        func type(_ resourceID: UInt16) -> LwM2MResourceType? { object?.resource(resourceID)?.type }
        func members(_ json: JSONValue, _ what: String) throws(LwM2MServerError) -> [(UInt16, JSONValue)] {
            guard case .object(let m) = json else { throw .invalidRequest("\(what) must be a JSON object", path: path) }
            var out: [(UInt16, JSONValue)] = []
            for (name, value) in m {
                guard let id = UInt16(name), id != 0xFFFF else {
                    throw .invalidRequest("\(name) is not an identifier", path: path)
                }
                out.append((id, value))
            }
            return out
        }
        func resource(_ id: UInt16, _ json: JSONValue) throws(LwM2MServerError) -> LwM2MResource {
            let definition = object?.resource(id)
            if case .object = json {
                var instances: [LwM2MResourceInstance] = []
                for (ri, v) in try members(json, "a multiple resource") {
                    instances.append(LwM2MResourceInstance(id: ri, value: try LwM2MValue(json: v, type: type(id))))
                }
                return .multiple(id, instances)
            }
            let value = try LwM2MValue(json: json, type: type(id))
            if definition?.isMultiple == true { return .multiple(id, [LwM2MResourceInstance(id: 0, value: value)]) }
            return .single(id, value)
        }
        func instance(_ id: UInt16, _ json: JSONValue) throws(LwM2MServerError) -> LwM2MObjectInstance {
            var resources: [LwM2MResource] = []
            for (rid, v) in try members(json, "an object instance") { resources.append(try resource(rid, v)) }
            return LwM2MObjectInstance(id: id, resources: resources)
        }
        switch path.level {
        case .resourceInstance:
            self = .resourceInstance(
                LwM2MResourceInstance(id: path.resourceInstanceID!, value: try LwM2MValue(json: json, type: type(path.resourceID!))))
        case .resource:
            self = .resource(try resource(path.resourceID!, json))
        case .objectInstance:
            self = .objectInstance(try instance(path.instanceID!, json))
        case .object:
            var instances: [LwM2MObjectInstance] = []
            for (iid, v) in try members(json, "an object") { instances.append(try instance(iid, v)) }
            self = .object(LwM2MObject(id: objectID, instances: instances))
        case .root:
            throw .invalidRequest("cannot write the root path")
        }
    }
}

extension LwM2MResource {
    /// The resource in JSON: a scalar, or an object of resource-instance ID to scalar.
    public var jsonValue: JSONValue {
        switch content {
        case .single(let v): return v.jsonValue
        case .multiple(let instances): return .object(instances.map { (String($0.id), $0.value.jsonValue) })
        }
    }
}

extension LwM2MObjectInstance {
    /// The instance in JSON: an object of resource ID to resource.
    public var jsonValue: JSONValue { .object(resources.map { (String($0.id), $0.jsonValue) }) }
}

/// Records as a JSON object of path to value, in path order; records without value are left out.
public func recordsJSON(_ records: [LwM2MRecord]) -> JSONValue {
    .object(records.sorted { $0.path < $1.path }.compactMap { r in r.value.map { (r.path.description, $0.jsonValue) } })
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}

func parseHex(_ text: String) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    var k = 0
    while k < utf8.count {
        guard let hi = nibble(utf8[k]), let lo = nibble(utf8[k + 1]) else { return nil }
        out.append(hi << 4 | lo)
        k += 2
    }
    return out
}
