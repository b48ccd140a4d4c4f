/// The operations a resource allows (from a DDF `Operations` element: R, W, RW, E or empty).
public struct LwM2MOperations: OptionSet, Hashable, Sendable {
    /// The bit set.
    public let rawValue: UInt8
    /// Creates a set from its bits.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Read.
    public static let read = LwM2MOperations(rawValue: 1 << 0)
    /// Write.
    public static let write = LwM2MOperations(rawValue: 1 << 1)
    /// Execute.
    public static let execute = LwM2MOperations(rawValue: 1 << 2)
    /// Read and write.
    public static let readWrite: LwM2MOperations = [.read, .write]
}

/// The definition of one resource of an object (a DDF `Item`).
public struct LwM2MResourceDefinition: Hashable, Sendable {
    /// The resource identifier.
    public var id: UInt16
    /// The human name, e.g. "Battery Level".
    public var name: String
    /// The allowed operations.
    public var operations: LwM2MOperations
    /// Whether the resource has multiple instances.
    public var isMultiple: Bool
    /// Whether the resource is mandatory.
    public var isMandatory: Bool
    /// The data type (`.none` for executables).
    public var type: LwM2MResourceType
    /// The range or enumeration text as written in the definition (free text in real-world files).
    public var rangeEnumeration: String
    /// The units, e.g. "%".
    public var units: String
    /// The description.
    public var description: String

    /// Creates a resource definition.
    public init(
        id: UInt16,
        name: String,
        operations: LwM2MOperations,
        isMultiple: Bool,
        isMandatory: Bool,
        type: LwM2MResourceType,
        rangeEnumeration: String = "",
        units: String = "",
        description: String = ""
    ) {
        self.id = id
        self.name = name
        self.operations = operations
        self.isMultiple = isMultiple
        self.isMandatory = isMandatory
        self.type = type
        self.rangeEnumeration = rangeEnumeration
        self.units = units
        self.description = description
    }
}

/// The definition of one object (a DDF `Object`), with its resources ordered by ID.
public struct LwM2MObjectDefinition: Hashable, Sendable {
    /// The object identifier.
    public var id: UInt16
    /// The human name, e.g. "Device".
    public var name: String
    /// The description (`Description1`).
    public var description: String
    /// The object URN, e.g. `urn:oma:lwm2m:oma:3:1.1`.
    public var urn: String
    /// The object version, e.g. "1.0" (the specification's default when the file gives none).
    public var objectVersion: String
    /// The LwM2M enabler version the object was written for, e.g. "1.0".
    public var lwm2mVersion: String
    /// Whether the object may have several instances.
    public var isMultiple: Bool
    /// Whether the object is mandatory.
    public var isMandatory: Bool
    /// The resources, ordered by ID with no duplicates.
    public var resources: [LwM2MResourceDefinition]

    /// Creates an object definition; resources are sorted by ID.
    public init(
        id: UInt16,
        name: String,
        description: String = "",
        urn: String = "",
        objectVersion: String = "1.0",
        lwm2mVersion: String = "1.0",
        isMultiple: Bool,
        isMandatory: Bool,
        resources: [LwM2MResourceDefinition]
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.urn = urn
        self.objectVersion = objectVersion
        self.lwm2mVersion = lwm2mVersion
        self.isMultiple = isMultiple
        self.isMandatory = isMandatory
        self.resources = resources.sorted { $0.id < $1.id }
    }

    /// The resource definition with `id` (binary search; no allocation).
    @inlinable public func resource(_ id: UInt16) -> LwM2MResourceDefinition? {
        var lo = 0
        var hi = resources.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let rid = resources[mid].id
            if rid == id { return resources[mid] }
            if rid < id { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }
}

/// Something that answers "what is resource R of object O" for decoders that need types
/// (TLV, plain text, CBOR). `LwM2MRegistry` is the standard implementation.
public protocol LwM2MDefinitionProvider: Sendable {
    /// The definition of object `objectID` in `version` (the latest known when `nil`), or `nil` if unknown.
    func objectDefinition(_ objectID: UInt16, version: String?) -> LwM2MObjectDefinition?

    /// The data type and multiplicity of resource `resourceID` of the latest known version of `objectID`, or
    /// `nil` when the object or the resource is unknown (executables answer `.none`).
    ///
    /// Codecs ask this once per single-value payload, so it should not copy a whole object definition: the
    /// default answers through ``objectDefinition(_:version:)``; ``LwM2MRegistry`` answers from a flat index
    /// without copying or allocating.
    func resourceTypeInfo(objectID: UInt16, resourceID: UInt16) -> (type: LwM2MResourceType, isMultiple: Bool)?

    /// The types of every resource of the latest known version of `objectID`, or `nil` when the object is
    /// unknown: what decoders of whole instances and objects consult per element. The default builds it from
    /// ``objectDefinition(_:version:)``; ``LwM2MRegistry`` answers a slice of its index without copying.
    func resourceTypeTable(objectID: UInt16) -> LwM2MResourceTypeTable?
}

extension LwM2MDefinitionProvider {
    /// Answers through ``objectDefinition(_:version:)`` (copies the object definition).
    public func resourceTypeInfo(objectID: UInt16, resourceID: UInt16)
        -> (type: LwM2MResourceType, isMultiple: Bool)?
    {
        guard let r = objectDefinition(objectID, version: nil)?.resource(resourceID) else { return nil }
        return (r.type, r.isMultiple)
    }

    /// The definition of resource `resourceID` of object `objectID` (latest version), or `nil` if unknown.
    @inlinable public func resourceDefinition(objectID: UInt16, resourceID: UInt16) -> LwM2MResourceDefinition? {
        objectDefinition(objectID, version: nil)?.resource(resourceID)
    }
}
