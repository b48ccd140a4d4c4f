public import LwM2MModel

extension LwM2MBootstrapConfiguration {
    /// Any other object instance to Bootstrap-Write (e.g. `/3/0` or a vendor object), with its resources.
    ///
    /// In JSON: `{"path": "/3/0", "resources": {"14": "+02:00", "15": "Europe/Berlin"}}`; each value is typed
    /// by the resource's definition in the built-in registry (numbers for integers/floats/times, booleans,
    /// hex text for opaque, `"O:I"` for object links, and an object from instance ID to value for multiple
    /// resources). Unknown objects and resources are rejected.
    public struct Instance: Sendable, Hashable, Codable {
        /// The object instance path (`/O/I`).
        public var path: LwM2MPath
        /// The resources to write.
        public var resources: [LwM2MResource]

        /// Creates an instance write.
        public init(path: LwM2MPath, resources: [LwM2MResource]) {
            self.path = path
            self.resources = resources
        }

        enum CodingKeys: String, CodingKey { case path, resources }

        /// Decodes the JSON form, typing values by the built-in registry.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let text = try c.decode(String.self, forKey: .path)
            guard let path = try? LwM2MPath(parsing: text), path.depth == 2, let objectID = path.objectID else {
                throw DecodingError.dataCorruptedError(
                    forKey: .path, in: c, debugDescription: "\"\(text)\": expected an object instance path /O/I")
            }
            guard let object = LwM2MRegistry.builtIn.objectDefinition(objectID, version: nil) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .path, in: c, debugDescription: "object \(objectID) is not in the registry")
            }
            let values = try c.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .resources)
            var resources: [LwM2MResource] = []
            for key in values.allKeys.sorted(by: { (UInt16($0.stringValue) ?? 0) < (UInt16($1.stringValue) ?? 0) }) {
                guard let id = UInt16(key.stringValue), let definition = object.resource(id) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: key, in: values, debugDescription: "no resource \(key.stringValue) in object \(objectID)")
                }
                if definition.isMultiple {
                    let inner = try values.nestedContainer(keyedBy: AnyCodingKey.self, forKey: key)
                    var instances: [LwM2MResourceInstance] = []
                    for innerKey in inner.allKeys {
                        guard let riid = UInt16(innerKey.stringValue) else {
                            throw DecodingError.dataCorruptedError(
                                forKey: innerKey, in: inner, debugDescription: "expected a resource instance ID")
                        }
                        let value = try Self.decodeValue(definition.type, innerKey, inner)
                        instances.append(LwM2MResourceInstance(id: riid, value: value))
                    }
                    resources.append(.multiple(id, instances.sorted { $0.id < $1.id }))
                } else {
                    resources.append(.single(id, try Self.decodeValue(definition.type, key, values)))
                }
            }
            self.path = path
            self.resources = resources
        }

        private static func decodeValue(
            _ type: LwM2MResourceType, _ key: AnyCodingKey, _ c: KeyedDecodingContainer<AnyCodingKey>
        ) throws -> LwM2MValue {
            func bad(_ expected: String) -> DecodingError {
                DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected \(expected)")
            }
            switch type {
            case .string: return .string(try c.decode(String.self, forKey: key))
            case .coreLink: return .coreLink(try c.decode(String.self, forKey: key))
            case .integer: return .integer(try c.decode(Int64.self, forKey: key))
            case .time: return .time(try c.decode(Int64.self, forKey: key))
            case .unsignedInteger: return .unsignedInteger(try c.decode(UInt64.self, forKey: key))
            case .float: return .float(try c.decode(Double.self, forKey: key))
            case .boolean: return .boolean(try c.decode(Bool.self, forKey: key))
            case .opaque:
                guard let bytes = Hex.decode(try c.decode(String.self, forKey: key)) else { throw bad("hex digits") }
                return .opaque(bytes)
            case .objectLink:
                guard let link = LwM2MObjectLink(parsingLink: try c.decode(String.self, forKey: key)) else {
                    throw bad("an object link \"O:I\"")
                }
                return .objectLink(link)
            default:
                throw bad("a writable resource type (not \(type))")
            }
        }

        /// Encodes the JSON form.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path.description, forKey: .path)
            var values = c.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .resources)
            func put(_ value: LwM2MValue, _ key: AnyCodingKey, _ c: inout KeyedEncodingContainer<AnyCodingKey>) throws {
                switch value {
                case .string(let s), .coreLink(let s): try c.encode(s, forKey: key)
                case .integer(let i), .time(let i): try c.encode(i, forKey: key)
                case .unsignedInteger(let u): try c.encode(u, forKey: key)
                case .float(let d): try c.encode(d, forKey: key)
                case .boolean(let b): try c.encode(b, forKey: key)
                case .opaque(let bytes): try c.encode(Hex.encode(bytes), forKey: key)
                case .objectLink(let link): try c.encode(link.description, forKey: key)
                }
            }
            for resource in resources {
                let key = AnyCodingKey(stringValue: String(resource.id))
                switch resource.content {
                case .single(let value):
                    try put(value, key, &values)
                case .multiple(let instances):
                    var inner = values.nestedContainer(keyedBy: AnyCodingKey.self, forKey: key)
                    for instance in instances {
                        try put(instance.value, AnyCodingKey(stringValue: String(instance.id)), &inner)
                    }
                }
            }
        }

        /// The write of this instance.
        var write: LwM2MBootstrapWrite {
            LwM2MBootstrapWrite(
                path: path,
                node: .objectInstance(LwM2MObjectInstance(id: path.instanceID ?? 0, resources: resources)))
        }
    }
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension LwM2MObjectLink {
    fileprivate init?(parsingLink text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let o = UInt16(parts[0]), let i = UInt16(parts[1]) else { return nil }
        self.init(objectID: o, instanceID: i)
    }
}
