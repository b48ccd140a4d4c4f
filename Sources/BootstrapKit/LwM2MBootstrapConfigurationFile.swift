public import Foundation

/// The JSON bootstrap configuration file: `{"endpoints": {"<name>": {...}}, "default": {...}}` where each
/// configuration is an `LwM2MBootstrapConfiguration` (see `docs/BootstrapKit.md` for every field).
public struct LwM2MBootstrapConfigurationFile: Sendable, Hashable, Codable {
    /// The per-endpoint configurations.
    public var endpoints: [String: LwM2MBootstrapConfiguration]
    /// The configuration for endpoints not listed, if any.
    public var `default`: LwM2MBootstrapConfiguration?

    /// Creates a file's contents.
    public init(endpoints: [String: LwM2MBootstrapConfiguration] = [:], default: LwM2MBootstrapConfiguration? = nil) {
        self.endpoints = endpoints
        self.default = `default`
    }

    enum CodingKeys: String, CodingKey { case endpoints, `default` }

    /// Decodes the JSON form; unknown top-level keys are rejected.
    public init(from decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: AnyKey.self)
        for key in keys.allKeys where CodingKeys(stringValue: key.stringValue) == nil {
            throw DecodingError.dataCorrupted(.init(
                codingPath: [key], debugDescription: "unknown key (expected endpoints, default)"))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        endpoints = try c.decodeIfPresent([String: LwM2MBootstrapConfiguration].self, forKey: .endpoints) ?? [:]
        self.default = try c.decodeIfPresent(LwM2MBootstrapConfiguration.self, forKey: .default)
    }

    /// Parses a configuration file's bytes; a bad file throws an error naming the offending field.
    public static func parse(_ data: Data) throws(LwM2MBootstrapConfigurationError) -> LwM2MBootstrapConfigurationFile {
        do {
            return try JSONDecoder().decode(LwM2MBootstrapConfigurationFile.self, from: data)
        } catch let error as DecodingError {
            throw LwM2MBootstrapConfigurationError(error)
        } catch {
            throw LwM2MBootstrapConfigurationError(field: "", reason: "\(error)")
        }
    }

    /// Reads and parses the file at `path`.
    public static func load(path: String) throws(LwM2MBootstrapConfigurationError) -> LwM2MBootstrapConfigurationFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LwM2MBootstrapConfigurationError(field: "", reason: "cannot read \(path): \(error.localizedDescription)")
        }
        return try parse(data)
    }

    /// The JSON text of this configuration (sorted keys, pretty printed).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// A bootstrap configuration file that could not be used; `field` names the offending field as a dotted
/// path such as `endpoints.dev1.security[0].uri`.
public struct LwM2MBootstrapConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The dotted path of the offending field (empty when the file as a whole is bad).
    public var field: String
    /// What is wrong.
    public var reason: String

    /// Creates an error.
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    /// Converts a decoding error, naming the field from its coding path.
    public init(_ error: DecodingError) {
        func name(_ path: [any CodingKey]) -> String {
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
        switch error {
        case .keyNotFound(let key, let context):
            let field = name(context.codingPath + [key])
            let detail = context.debugDescription.hasPrefix("No value associated") ? "" : " (\(context.debugDescription))"
            self.init(field: field, reason: "missing required field\(detail)")
        case .typeMismatch(let type, let context):
            self.init(field: name(context.codingPath), reason: "wrong type, expected \(type)")
        case .valueNotFound(let type, let context):
            self.init(field: name(context.codingPath), reason: "missing value, expected \(type)")
        case .dataCorrupted(let context):
            let reason = context.codingPath.isEmpty ? "not valid JSON" : context.debugDescription
            self.init(field: name(context.codingPath), reason: reason)
        @unknown default:
            self.init(field: "", reason: "\(error)")
        }
    }

    /// `bad bootstrap configuration: <field>: <reason>`.
    public var description: String {
        "bad bootstrap configuration: " + (field.isEmpty ? "" : "\(field): ") + reason
    }
}
