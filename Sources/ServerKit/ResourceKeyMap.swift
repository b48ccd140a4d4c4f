public import LwM2MModel

/// Maps friendly keys such as `batteryLevel` to resource paths, as ThingsBoard's RPC commands use them.
///
/// Every resource of every known object gets a default key: its registry name in lowerCamelCase ("Battery Level"
/// becomes `batteryLevel`, "SMS Number" `smsNumber`, "Package URI" `packageUri`). When two objects share a name, the lower object ID
/// keeps the key. Overrides (from a key-map file) take precedence.
public struct ResourceKeyMap: Sendable {
    /// A key's target: a resource of an object, optionally in a fixed instance.
    public struct Target: Hashable, Sendable {
        /// The object ID.
        public var objectID: UInt16
        /// The instance, or `nil` to use the client's first instance of the object (0 if it announced none).
        public var instanceID: UInt16?
        /// The resource ID.
        public var resourceID: UInt16

        /// Creates a target.
        public init(objectID: UInt16, instanceID: UInt16?, resourceID: UInt16) {
            self.objectID = objectID
            self.instanceID = instanceID
            self.resourceID = resourceID
        }
    }

    private var defaults: [String: Target] = [:]
    private var overrides: [String: Target] = [:]

    /// Creates a key map with default keys for every resource in `registry`.
    public init(registry: LwM2MRegistry) {
        for objectID in registry.objectIDs {
            guard let object = registry.objectDefinition(objectID, version: nil) else { continue }
            for resource in object.resources {
                let key = Self.defaultKey(for: resource.name)
                guard !key.isEmpty, defaults[key] == nil else { continue }
                defaults[key] = Target(objectID: objectID, instanceID: nil, resourceID: resource.id)
            }
        }
    }

    /// The lowerCamelCase key for a resource name: words split at anything but letters and digits; the first word
    /// lowercased (entirely when it is all capitals, like `SMS`), the others capitalised (acronyms as words:
    /// "Package URI" becomes `packageUri`, "Short Server ID" `shortServerId`).
    public static func defaultKey(for name: String) -> String {
        let words = name.split { !($0.isLetter || $0.isNumber) }
        var key = ""
        for (k, word) in words.enumerated() {
            if k == 0 {
                if word.allSatisfy({ $0.isUppercase || $0.isNumber }) {
                    key += word.lowercased()
                } else {
                    key += word.prefix(1).lowercased() + word.dropFirst()
                }
            } else if word.count > 1 && word.allSatisfy({ $0.isUppercase || $0.isNumber }) {
                key += word.prefix(1) + word.dropFirst().lowercased()  // "URI" -> "Uri"
            } else {
                key += word.prefix(1).uppercased() + word.dropFirst()
            }
        }
        return key
    }

    /// Sets `key` to `target`, taking precedence over default keys.
    public mutating func set(_ key: String, to target: Target) {
        overrides[key] = target
    }

    /// Loads overrides from a key-map file: a JSON object mapping keys to paths (`{"battery": "/3/0/9"}`) or,
    /// ThingsBoard style, paths to keys (`{"/3_1.2/0/9": "battery"}`), optionally under a `keyName` member.
    /// A path may give the instance (`/3/0/9`) or not (`/3//9` is not valid; use `/3/0/9`).
    public mutating func loadOverrides(json text: String) throws(LwM2MServerError) {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch {
            throw .invalidRequest("key map is not JSON: \(error)")
        }
        var root = value
        if case .object? = value["keyName"] { root = value["keyName"]! }
        guard case .object(let members) = root else { throw .invalidRequest("key map must be a JSON object") }
        for (name, v) in members {
            guard let other = v.stringValue else { throw .invalidRequest("key map value for \(name) is not a string") }
            let (key, pathText) = name.hasPrefix("/") ? (other, name) : (name, other)
            guard let parsed = LwM2MPathText(pathText), parsed.path.depth == 3 else {
                throw .invalidRequest("key map path \(pathText) is not a resource path /o/i/r")
            }
            overrides[key] = Target(
                objectID: parsed.path.objectID!, instanceID: parsed.path.instanceID, resourceID: parsed.path.resourceID!)
        }
    }

    /// The target of `key`, if known.
    public func target(for key: String) -> Target? { overrides[key] ?? defaults[key] }

    /// The path `key` names on `registration`'s client (its first instance of the object when not fixed).
    public func path(for key: String, registration: Registration?) -> LwM2MPath? {
        guard let t = target(for: key) else { return nil }
        let instance = t.instanceID ?? registration?.object(t.objectID)?.instances.first ?? 0
        return .resource(t.objectID, instance, t.resourceID)
    }
}
