import LwM2MModel

/// Assembles a node from records that arrive in path order, without an intermediate record array: the decoders'
/// fast path (SenML JSON, SenML CBOR, LwM2M CBOR).
///
/// It builds exactly what `LwM2MNode(records:at:definitions:)` builds from the same records. It only handles the
/// well-formed case: a record out of order or repeated, outside the node, without a value, with a value that does
/// not fit its definition, or mixing single and multiple values makes `add` (or `finish`) give up, and the caller
/// then decodes again through that initializer, which reports the error as it always did.
struct LwM2MNodeBuilder: LwM2MRecordSink {
    private let target: LwM2MPath
    private let targetDepth: Int
    /// The resource types of the target's object (latest version), `nil` when unknown: a slice of the
    /// registry's index, not a copy of the object definition.
    private var table: LwM2MResourceTypeTable?
    /// The order key of the last record's path (0 before the first): see `add`.
    private var lastKey: UInt64 = 0
    private var capacity = 0

    /// Finished instances (an object node) over the spares whose resource arrays they reuse.
    private var instances: LwM2MNodeStorage
    /// The number of finished instances.
    private var finished = 0
    private var instanceID: UInt16? = nil
    /// Finished resources of the current instance.
    private var resources: [LwM2MResource]
    /// The open resource: its ID, definition, and single value or instances.
    private var resourceID: UInt16? = nil
    private var definition: (type: LwM2MResourceType, isMultiple: Bool)? = nil
    private var single: LwM2MValue? = nil
    private var multiple = LwM2MResourceInstances()
    /// The value of a resource instance node.
    private var leaf: LwM2MValue? = nil

    /// A builder for the node at `path`, or `nil` for the root (not one node). The node's arrays are taken from
    /// `storage` (refilled in place when it holds them uniquely; an empty storage allocates them).
    @inline(__always)
    init?(at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?, reusing storage: inout LwM2MNodeStorage) {
        let depth = path.depth
        guard depth > 0 else { return nil }
        target = path
        targetDepth = depth
        instances = LwM2MNodeStorage()
        swap(&instances, &storage)
        resources = instances.resources(forInstance: 0)
        // Not `definitions?.resourceTypeTable(...)`: the optional chain copies the existential (3 retains, 3
        // releases).
        if let definitions {
            table = definitions.resourceTypeTable(objectID: path.objectID!)
        } else {
            table = nil
        }
    }

    /// The builder of `init(at:definitions:reusing:)`, made out of line (SenML JSON: inlined into its decode, the
    /// set-up cost it about 130 instructions more; the CBOR decoders save about 230 by inlining it).
    @inline(never)
    static func outOfLine(
        at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?, reusing storage: inout LwM2MNodeStorage
    ) -> LwM2MNodeBuilder? {
        LwM2MNodeBuilder(at: path, definitions: definitions, reusing: &storage)
    }

    mutating func reserve(_ count: Int) {
        capacity = min(count, 256)
    }

    @inline(__always)
    mutating func add(_ path: LwM2MPath, _ value: consuming LwM2MValue?, timestamp: Double?) -> Bool {
        guard let value, path.depth >= 3, lies(within: path) else { return false }
        // Paths here share the object and have a resource: instance, resource and resource instance (absent
        // first) packed into one integer order the same way `LwM2MPath.<` does, without its per-level branches.
        let ri = path.resourceInstanceID.map { UInt64($0) &+ 1 } ?? 0
        let key = (UInt64(path.instanceID!) << 34 | UInt64(path.resourceID!) << 17 | ri) &+ 1
        guard key > lastKey else { return false }
        lastKey = key
        if targetDepth == 4 {
            guard leaf == nil, let v = typed(value, table?.typeAndMultiplicity(of: path.resourceID!)) else {
                return false
            }
            leaf = v
            return true
        }
        let iid = path.instanceID!
        let rid = path.resourceID!
        if iid != instanceID {
            closeInstance()
            instanceID = iid
        }
        if rid != resourceID {
            closeResource()
            resourceID = rid
            definition = table?.typeAndMultiplicity(of: rid)
        }
        // A value of the defined type (or untyped) is moved, not copied through `typed`.
        var v = value
        if let def = definition, def.type != .none, v.type != def.type {
            guard let c = v.coerced(to: def.type) else { return false }
            v = c
        }
        if let ri = path.resourceInstanceID {
            guard single == nil, definition?.isMultiple != false else { return false }
            multiple.insert(LwM2MResourceInstance(id: ri, value: v))  // in order: the key check above
        } else {
            // Path order puts a resource before its instances: this is the resource's first record.
            guard definition?.isMultiple != true else { return false }
            single = v
        }
        return true
    }

    /// The node, or `nil` when the records do not form it here (no value for a resource or resource instance).
    mutating func finish() -> LwM2MNode? {
        switch targetDepth {
        case 4:
            guard let leaf else { return nil }
            return .resourceInstance(LwM2MResourceInstance(id: target.resourceInstanceID!, value: leaf))
        case 3:
            closeResource()
            guard resources.count == 1 else { return nil }
            return .resource(resources[0])
        case 2:
            closeResource()
            var instance = LwM2MObjectInstance(id: target.instanceID!, resources: [])
            swap(&instance.resources, &resources)  // in path order: no sort to check
            return .objectInstance(instance)
        default:
            closeInstance()
            return .object(LwM2MObject(id: target.objectID!, instances: instances.takeInstances(count: finished)))
        }
    }

    /// Whether `path` lies within the node (`target.isPrefix(of: path)`, without its loop).
    @inline(__always)
    private func lies(within path: LwM2MPath) -> Bool {
        if path.objectID != target.objectID { return false }
        if targetDepth >= 2 && path.instanceID != target.instanceID { return false }
        if targetDepth >= 3 && path.resourceID != target.resourceID { return false }
        if targetDepth >= 4 && path.resourceInstanceID != target.resourceInstanceID { return false }
        return true
    }

    @inline(__always)
    private func typed(_ value: LwM2MValue, _ def: (type: LwM2MResourceType, isMultiple: Bool)?) -> LwM2MValue? {
        guard let def, def.type != .none else { return value }
        return value.coerced(to: def.type)
    }

    @inline(__always)
    private mutating func closeResource() {
        guard let rid = resourceID else { return }
        if resources.capacity == 0 { resources.reserveCapacity(capacity) }
        if let v = single.take() {
            resources.append(LwM2MResource(id: rid, content: .single(v)))
        } else {
            resources.append(LwM2MResource(id: rid, content: .multiple(multiple)))
            multiple = LwM2MResourceInstances()
        }
        resourceID = nil
    }

    private mutating func closeInstance() {
        closeResource()
        guard let iid = instanceID, targetDepth == 1 else { return }
        capacity = resources.count  // the next instance likely has as many
        var instance = LwM2MObjectInstance(id: iid, resources: [])
        swap(&instance.resources, &resources)  // in path order: no sort to check
        instances.setInstance(instance, at: finished)
        finished &+= 1
        resources = instances.resources(forInstance: finished)
        instanceID = nil
    }
}
