/// One instance of a multiple resource: `/o/i/r/ri` with its value.
public struct LwM2MResourceInstance: Hashable, Sendable {
    /// The resource instance identifier.
    public var id: UInt16
    /// The value.
    public var value: LwM2MValue

    /// Creates a resource instance.
    @inlinable public init(id: UInt16, value: LwM2MValue) {
        self.id = id
        self.value = value
    }
}

/// A resource: a single value, or a multiple resource holding resource instances (ordered by ID).
public struct LwM2MResource: Hashable, Sendable {
    /// The resource identifier.
    public var id: UInt16
    /// Single or multiple content.
    public var content: Content

    /// The content of a resource.
    public enum Content: Hashable, Sendable {
        /// A single-instance resource's value.
        case single(LwM2MValue)
        /// A multiple-instance resource's instances, ordered by ID with no duplicates (up to two stored inline).
        case multiple(LwM2MResourceInstances)
    }

    /// Creates a single-instance resource.
    @inlinable public static func single(_ id: UInt16, _ value: LwM2MValue) -> LwM2MResource {
        LwM2MResource(id: id, content: .single(value))
    }

    /// Creates a multiple-instance resource; instances are sorted by ID (of instances sharing an ID, the last one
    /// is kept).
    @inlinable public static func multiple(_ id: UInt16, _ instances: [LwM2MResourceInstance]) -> LwM2MResource {
        LwM2MResource(id: id, content: .multiple(LwM2MResourceInstances(instances)))
    }

    /// Creates a multiple-instance resource.
    @inlinable public static func multiple(_ id: UInt16, _ instances: LwM2MResourceInstances) -> LwM2MResource {
        LwM2MResource(id: id, content: .multiple(instances))
    }

    /// Creates a multiple-instance resource from `[instanceID: value]`.
    public static func multiple(_ id: UInt16, _ values: [UInt16: LwM2MValue]) -> LwM2MResource {
        .multiple(id, values.map { LwM2MResourceInstance(id: $0.key, value: $0.value) })
    }

    /// Creates a resource.
    @inlinable public init(id: UInt16, content: Content) {
        self.id = id
        self.content = content
    }

    /// The value of a single-instance resource, else `nil`.
    @inlinable public var value: LwM2MValue? {
        if case .single(let v) = content { return v }
        return nil
    }

    /// The instances of a multiple resource, else `nil`.
    @inlinable public var instances: LwM2MResourceInstances? {
        if case .multiple(let v) = content { return v }
        return nil
    }

    /// Whether this is a multiple-instance resource.
    @inlinable public var isMultiple: Bool {
        if case .multiple = content { return true }
        return false
    }
}

/// An object instance `/o/i` with its resources, ordered by ID.
public struct LwM2MObjectInstance: Hashable, Sendable {
    /// The instance identifier.
    public var id: UInt16
    /// The resources, ordered by ID with no duplicates.
    public var resources: [LwM2MResource]

    /// Creates an object instance; resources are sorted by ID.
    @inlinable public init(id: UInt16, resources: [LwM2MResource]) {
        self.id = id
        self.resources = isOrdered(resources, by: \.id) ? resources : resources.sorted { $0.id < $1.id }
    }

    /// The resource with `id`, if present.
    @inlinable public subscript(resource id: UInt16) -> LwM2MResource? {
        resources.first { $0.id == id }
    }
}

/// An object `/o` with its instances, ordered by ID.
public struct LwM2MObject: Hashable, Sendable {
    /// The object identifier.
    public var id: UInt16
    /// The instances, ordered by ID with no duplicates.
    public var instances: [LwM2MObjectInstance]

    /// Creates an object; instances are sorted by ID.
    @inlinable public init(id: UInt16, instances: [LwM2MObjectInstance]) {
        self.id = id
        self.instances = isOrdered(instances, by: \.id) ? instances : instances.sorted { $0.id < $1.id }
    }

    /// The instance with `id`, if present.
    @inlinable public subscript(instance id: UInt16) -> LwM2MObjectInstance? {
        instances.first { $0.id == id }
    }
}

/// A node of the object tree at any level, the unit that Read returns and Write carries.
public enum LwM2MNode: Hashable, Sendable {
    /// A whole object.
    case object(LwM2MObject)
    /// One object instance.
    case objectInstance(LwM2MObjectInstance)
    /// One resource (single or multiple).
    case resource(LwM2MResource)
    /// One instance of a multiple resource.
    case resourceInstance(LwM2MResourceInstance)

    /// The path level this node sits at.
    public var level: LwM2MPath.Level {
        switch self {
        case .object: return .object
        case .objectInstance: return .objectInstance
        case .resource: return .resource
        case .resourceInstance: return .resourceInstance
        }
    }
}

/// One value at a full path, optionally timestamped: the flat form used by SenML, composite operations,
/// time series (Send, Notify) and the resource-level view of a node tree.
public struct LwM2MRecord: Hashable, Sendable {
    /// A resource or resource instance path (an object or instance path when `value` is `nil`, as in a
    /// Read-Composite request).
    public var path: LwM2MPath
    /// The value, or `nil` for records that only name a path.
    public var value: LwM2MValue?
    /// Seconds since 1970-01-01T00:00:00Z, for time series; `nil` means "now".
    public var timestamp: Double?

    /// Creates a record.
    @inlinable public init(path: LwM2MPath, value: LwM2MValue?, timestamp: Double? = nil) {
        self.path = path
        self.value = value
        self.timestamp = timestamp
    }
}

/// Whether `elements` are in ascending order of `key` (lets the initializers skip a sort and its copy).
@inlinable func isOrdered<T>(_ elements: [T], by key: (T) -> UInt16) -> Bool {
    var k = 1
    while k < elements.count {
        if key(elements[k]) < key(elements[k - 1]) { return false }
        k += 1
    }
    return true
}
