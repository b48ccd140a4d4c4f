public import Foundation

/// The JSON security file shared by `lwm2m-server --security` and `lwm2m-bootstrap --security`:
///
/// ```json
/// {
///   "noSecForUnknownEndpoints": false,
///   "endpoints": {
///     "dev1": {"psk": {"identity": "dev1-id", "key": "000102030405060708090a0b0c0d0e0f"}},
///     "dev2": {"x509": {"commonName": "dev2"}},
///     "dev3": {"psk": {"identity": "dev3", "key": "73656372657433"}, "noSec": true},
///     "dev4": {"noSec": true}
///   }
/// }
/// ```
///
/// `key` is hexadecimal (1 to 64 bytes); `x509.commonName` defaults to the endpoint name;
/// `noSecForUnknownEndpoints` defaults to `true`. Unknown fields are errors, and every error names its field.
public struct LwM2MSecurityFile: Sendable, Hashable {
    /// Whether endpoints not listed may use NoSec.
    public var noSecForUnknownEndpoints: Bool
    /// The entries, sorted by endpoint name.
    public var entries: [LwM2MSecurityInfo]

    /// Creates a file's contents.
    public init(noSecForUnknownEndpoints: Bool = true, entries: [LwM2MSecurityInfo] = []) {
        self.noSecForUnknownEndpoints = noSecForUnknownEndpoints
        self.entries = entries
    }

    /// The largest file accepted (bytes).
    public static let maximumSize = 16 * 1024 * 1024

    /// Parses a security file's bytes; a bad file throws an error naming the offending field.
    public static func parse(_ data: Data) throws(LwM2MSecurityError) -> LwM2MSecurityFile {
        guard data.count <= maximumSize else {
            throw LwM2MSecurityError(code: .invalidValue, field: "", reason: "larger than \(maximumSize) bytes")
        }
        let shape: FileShape
        do {
            shape = try JSONDecoder().decode(FileShape.self, from: data)
        } catch let error as LwM2MSecurityError {
            throw error
        } catch let error as DecodingError {
            throw LwM2MSecurityError(error)
        } catch {
            throw LwM2MSecurityError(code: .invalidJSON, field: "", reason: "\(error)")
        }
        var file = LwM2MSecurityFile(noSecForUnknownEndpoints: shape.noSecForUnknownEndpoints ?? true)
        var owners: [String: String] = [:]
        for (name, entry) in shape.endpoints.sorted(by: { $0.key < $1.key }) {
            if let identity = entry.info.psk?.identity {
                if let owner = owners[identity] {
                    throw LwM2MSecurityError(
                        code: .duplicateIdentity, field: "endpoints.\(name).psk.identity",
                        reason: "PSK identity \(identity) is already used by endpoint \(owner)")
                }
                owners[identity] = name
            }
            file.entries.append(entry.info)
        }
        return file
    }

    /// Reads and parses the file at `path`.
    public static func load(path: String) throws(LwM2MSecurityError) -> LwM2MSecurityFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LwM2MSecurityError(code: .unreadable, field: "", reason: "cannot read \(path): \(error.localizedDescription)")
        }
        return try parse(data)
    }

    /// An in-memory store holding this file's entries.
    public func makeStore() throws(LwM2MSecurityError) -> LwM2MInMemorySecurityStore {
        try LwM2MInMemorySecurityStore(entries, noSecForUnknownEndpoints: noSecForUnknownEndpoints)
    }
}

extension LwM2MSecurityInfo {
    /// The largest PSK accepted (bytes).
    public static let maximumKeyLength = 64
    /// The longest PSK identity accepted (UTF-8 bytes).
    public static let maximumIdentityLength = 256

    /// Parses the quick-setup form `ENDPOINT:IDENTITY:HEXKEY` of `--psk`.
    ///
    /// The key is after the last colon. Endpoint names and identities may contain colons (`urn:imei:...`): the
    /// rest is split at its only colon, or, when it has several, into two equal halves (identity = endpoint name,
    /// the common case); anything else is ambiguous and refused (use a security file).
    public init(pskArgument text: String) throws(LwM2MSecurityError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3 else {
            throw LwM2MSecurityError(code: .invalidValue, field: "psk", reason: "expected ENDPOINT:IDENTITY:HEXKEY")
        }
        let names = Array(parts.dropLast())
        let endpoint: String
        let identity: String
        if names.count == 2 {
            (endpoint, identity) = (names[0], names[1])
        } else if names.count % 2 == 0,
            names[..<(names.count / 2)].elementsEqual(names[(names.count / 2)...])
        {
            endpoint = names[..<(names.count / 2)].joined(separator: ":")
            identity = endpoint
        } else {
            throw LwM2MSecurityError(
                code: .invalidValue, field: "psk",
                reason: "ambiguous ENDPOINT:IDENTITY in \(names.joined(separator: ":")) (use a security file)")
        }
        guard !endpoint.isEmpty else {
            throw LwM2MSecurityError(code: .invalidValue, field: "psk", reason: "empty endpoint name")
        }
        self = .psk(
            endpoint: endpoint, identity: try Self.checkedIdentity(identity, field: "psk"),
            key: try Self.key(hex: parts[parts.count - 1], field: "psk"))
    }

    static func checkedIdentity(_ identity: String, field: String) throws(LwM2MSecurityError) -> String {
        guard !identity.isEmpty, identity.utf8.count <= maximumIdentityLength else {
            throw LwM2MSecurityError(
                code: .invalidValue, field: field, reason: "PSK identity must have 1 to \(maximumIdentityLength) bytes")
        }
        return identity
    }

    /// Decodes a hexadecimal key of 1 to ``maximumKeyLength`` bytes.
    static func key(hex: String, field: String) throws(LwM2MSecurityError) -> [UInt8] {
        let digits = Array(hex.utf8)
        guard !digits.isEmpty, digits.count % 2 == 0, digits.count / 2 <= maximumKeyLength else {
            throw LwM2MSecurityError(
                code: .invalidValue, field: field,
                reason: "key must be an even number of hex digits, 1 to \(maximumKeyLength) bytes")
        }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var key: [UInt8] = []
        key.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else {
                throw LwM2MSecurityError(code: .invalidValue, field: field, reason: "key is not hexadecimal")
            }
            key.append(high << 4 | low)
            i += 2
        }
        return key
    }
}

// MARK: - Decoding

private struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

private func fieldName(_ path: [any CodingKey]) -> String {
    var out = ""
    for key in path {
        if let index = key.intValue {
            out += "[\(index)]"
        } else {
            out += (out.isEmpty ? "" : ".") + key.stringValue
        }
    }
    return out
}

private func container(_ decoder: any Decoder, allowed: [String]) throws -> KeyedDecodingContainer<Key> {
    let c = try decoder.container(keyedBy: Key.self)
    for key in c.allKeys where !allowed.contains(key.stringValue) {
        throw LwM2MSecurityError(
            code: .unknownField, field: fieldName(decoder.codingPath + [key]),
            reason: "unknown field (expected \(allowed.joined(separator: ", ")))")
    }
    return c
}

private struct FileShape: Decodable {
    var noSecForUnknownEndpoints: Bool?
    var endpoints: [String: EntryShape]

    init(from decoder: any Decoder) throws {
        let c = try container(decoder, allowed: ["noSecForUnknownEndpoints", "endpoints"])
        noSecForUnknownEndpoints = try c.decodeIfPresent(Bool.self, forKey: Key("noSecForUnknownEndpoints"))
        endpoints = try c.decodeIfPresent([String: EntryShape].self, forKey: Key("endpoints")) ?? [:]
    }
}

private struct EntryShape: Decodable {
    var info: LwM2MSecurityInfo

    init(from decoder: any Decoder) throws {
        let here = fieldName(decoder.codingPath)
        guard let endpoint = decoder.codingPath.last?.stringValue, !endpoint.isEmpty else {
            throw LwM2MSecurityError(code: .invalidValue, field: here, reason: "empty endpoint name")
        }
        let c = try container(decoder, allowed: ["psk", "x509", "noSec"])
        info = LwM2MSecurityInfo(endpoint: endpoint)
        if c.contains(Key("psk")) {
            let psk = try c.nestedContainer(keyedBy: Key.self, forKey: Key("psk"))
            for key in psk.allKeys where !["identity", "key"].contains(key.stringValue) {
                throw LwM2MSecurityError(
                    code: .unknownField, field: "\(here).psk.\(key.stringValue)",
                    reason: "unknown field (expected identity, key)")
            }
            let identity = try psk.decode(String.self, forKey: Key("identity"))
            let hex = try psk.decode(String.self, forKey: Key("key"))
            info.psk = LwM2MSecurityInfo.PSK(
                identity: try LwM2MSecurityInfo.checkedIdentity(identity, field: "\(here).psk.identity"),
                key: try LwM2MSecurityInfo.key(hex: hex, field: "\(here).psk.key"))
        }
        if c.contains(Key("x509")) {
            let x509 = try c.nestedContainer(keyedBy: Key.self, forKey: Key("x509"))
            for key in x509.allKeys where key.stringValue != "commonName" {
                throw LwM2MSecurityError(
                    code: .unknownField, field: "\(here).x509.\(key.stringValue)", reason: "unknown field (expected commonName)")
            }
            let commonName = try x509.decodeIfPresent(String.self, forKey: Key("commonName")) ?? endpoint
            guard !commonName.isEmpty else {
                throw LwM2MSecurityError(code: .invalidValue, field: "\(here).x509.commonName", reason: "empty common name")
            }
            info.certificateCommonName = commonName
        }
        info.allowsNoSec = try c.decodeIfPresent(Bool.self, forKey: Key("noSec")) ?? false
        guard info.psk != nil || info.certificateCommonName != nil || info.allowsNoSec else {
            throw LwM2MSecurityError(
                code: .missingField, field: here, reason: "give psk, x509 or \"noSec\": true")
        }
    }
}

extension LwM2MSecurityError {
    /// Converts a decoding error, naming the field from its coding path.
    init(_ error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            self.init(code: .missingField, field: fieldName(context.codingPath + [key]), reason: "missing required field")
        case .typeMismatch(let type, let context):
            self.init(code: .wrongType, field: fieldName(context.codingPath), reason: "wrong type, expected \(type)")
        case .valueNotFound(let type, let context):
            self.init(code: .wrongType, field: fieldName(context.codingPath), reason: "null, expected \(type)")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                self.init(code: .invalidJSON, field: "", reason: "not valid JSON")
            } else {
                self.init(code: .invalidValue, field: fieldName(context.codingPath), reason: context.debugDescription)
            }
        @unknown default:
            self.init(code: .invalidJSON, field: "", reason: "\(error)")
        }
    }
}
