import Codecs
public import LwM2MModel
import Synchronization

/// The client's objects: instances and resource values typed by their registry definitions, with read
/// callbacks (dynamic values), write validation, post-write and execute handlers, and change notification
/// (the equivalent of Zephyr's `lwm2m_set_*`/`lwm2m_get_*`, its callbacks and its registry lock).
///
/// Thread-safe: state sits behind a mutex and every callback runs outside it, so callbacks may use the tree.
/// Local changes (`set`) and server writes report the changed resource paths to change listeners once per
/// call, or once per `batch` for every change inside it.
///
/// ```swift
/// let tree = LwM2MObjectTree(definitions: registry)
/// try tree.addObject(3303)
/// _ = try tree.createInstance(3303, id: 0, values: [5700: .float(21.5)])
/// try tree.batch {
///     try tree.set(.resource(3303, 0, 5700), .float(22.0))
///     try tree.set(.resource(3303, 0, 5601), .float(21.5))
/// }
/// ```
public final class LwM2MObjectTree: Sendable {
    /// Answers the current value of a resource when it is read (`nil`: use the stored value).
    public typealias ReadHandler = @Sendable (LwM2MPath) -> LwM2MValue?
    /// Checks a value the server writes; throw `LwM2MClientError` (4.00 by default) to refuse it.
    public typealias WriteValidator = @Sendable (LwM2MPath, LwM2MValue) throws -> Void
    /// Called after a value was written by the server.
    public typealias WriteHandler = @Sendable (LwM2MPath, LwM2MValue) -> Void
    /// Runs an Execute with its argument text (Core TS 5.4.5 arguments, may be empty).
    public typealias ExecuteHandler = @Sendable (LwM2MPath, String) async throws -> Void
    /// Receives the resource paths changed by one call or batch.
    public typealias ChangeListener = @Sendable (Set<LwM2MPath>) -> Void

    struct ResourceSlot: Sendable {
        var single: LwM2MValue?
        var multiple: [UInt16: LwM2MValue]?
    }

    struct ObjectSlot: Sendable {
        var definition: LwM2MObjectDefinition
        var instances: [UInt16: [UInt16: ResourceSlot]] = [:]
    }

    /// A hook key: a resource of one instance, or of every instance when `instanceID` is nil.
    struct HookKey: Hashable, Sendable {
        var objectID: UInt16
        var instanceID: UInt16?
        var resourceID: UInt16
    }

    struct Hooks: Sendable {
        var read: [HookKey: ReadHandler] = [:]
        var validate: [HookKey: WriteValidator] = [:]
        var written: [HookKey: WriteHandler] = [:]
        var execute: [HookKey: ExecuteHandler] = [:]

        func find<T>(_ table: [HookKey: T], _ path: LwM2MPath) -> T? {
            guard let o = path.objectID, let i = path.instanceID, let r = path.resourceID else { return nil }
            return table[HookKey(objectID: o, instanceID: i, resourceID: r)]
                ?? table[HookKey(objectID: o, instanceID: nil, resourceID: r)]
        }
    }

    struct State: Sendable {
        var objects: [UInt16: ObjectSlot] = [:]
        var hooks = Hooks()
        var listeners: [UInt64: ChangeListener] = [:]
        var nextListener: UInt64 = 0
        var batchDepth = 0
        var pending: Set<LwM2MPath> = []
        var structureChanged = false
        var structureVersion: UInt64 = 0
    }

    /// The definitions objects are built from.
    public let definitions: any LwM2MDefinitionProvider
    let state = Mutex(State())

    /// Creates an empty tree that takes object definitions from `definitions`.
    public init(definitions: any LwM2MDefinitionProvider) {
        self.definitions = definitions
    }

    // MARK: - Objects and instances

    /// Adds object `definition` with no instances (replacing an object of the same ID).
    public func addObject(_ definition: LwM2MObjectDefinition) {
        state.withLock { $0.objects[definition.id] = ObjectSlot(definition: definition) }
        notify(structure: true, [])
    }

    /// Adds object `objectID` from the definitions (the latest version unless `version` is given).
    public func addObject(_ objectID: UInt16, version: String? = nil) throws(LwM2MClientError) {
        guard let definition = definitions.objectDefinition(objectID, version: version) else {
            throw LwM2MClientError(code: .notFound, reason: "no definition of object \(objectID)", path: .object(objectID))
        }
        addObject(definition)
    }

    /// The definition of object `objectID` in the tree.
    public func definition(of objectID: UInt16) -> LwM2MObjectDefinition? {
        state.withLock { $0.objects[objectID]?.definition }
    }

    /// The object IDs in the tree, ascending.
    public var objectIDs: [UInt16] { state.withLock { $0.objects.keys.sorted() } }

    /// The instance IDs of `objectID`, ascending (empty when the object is absent).
    public func instanceIDs(of objectID: UInt16) -> [UInt16] {
        state.withLock { $0.objects[objectID]?.instances.keys.sorted() ?? [] }
    }

    /// Whether `path` exists in the tree (resources: have a value or a read handler).
    public func contains(_ path: LwM2MPath) -> Bool {
        state.withLock { s in Self.exists(path, in: s) }
    }

    /// Creates an instance of `objectID` with `values` (typed by the definition); `id` nil picks the lowest
    /// free ID. Returns the instance ID.
    @discardableResult
    public func createInstance(
        _ objectID: UInt16, id: UInt16? = nil, values: [UInt16: LwM2MValue] = [:]
    ) throws(LwM2MClientError) -> UInt16 {
        let resources = values.map { LwM2MResource.single($0.key, $0.value) }
        return try createInstance(objectID, id: id, resources: resources, checkWritable: false)
    }

    func createInstance(
        _ objectID: UInt16, id: UInt16?, resources: [LwM2MResource], checkWritable: Bool
    ) throws(LwM2MClientError) -> UInt16 {
        let result: Result<UInt16, LwM2MClientError> = state.withLock { s in
            guard var object = s.objects[objectID] else { return .failure(.notFound(.object(objectID))) }
            if !object.definition.isMultiple && !object.instances.isEmpty {
                return .failure(.methodNotAllowed("object \(objectID) is single-instance", .object(objectID)))
            }
            let instanceID: UInt16
            if let id {
                guard id != 0xFFFF else { return .failure(.badRequest("instance ID 65535 is reserved")) }
                guard object.instances[id] == nil else {
                    return .failure(.badRequest("instance /\(objectID)/\(id) exists", .instance(objectID, id)))
                }
                instanceID = id
            } else {
                var candidate: UInt16 = 0
                while object.instances[candidate] != nil { candidate += 1 }
                instanceID = candidate
            }
            var slots: [UInt16: ResourceSlot] = [:]
            for resource in resources {
                switch Self.slot(for: resource, objectID: objectID, instanceID: instanceID, in: object.definition) {
                case .success(let slot): slots[resource.id] = slot
                case .failure(let e): return .failure(e)
                }
            }
            object.instances[instanceID] = slots
            s.objects[objectID] = object
            return .success(instanceID)
        }
        let id = try result.get()
        notify(structure: true, [.instance(objectID, id)])
        return id
    }

    /// Deletes instance `/objectID/instanceID`.
    public func deleteInstance(_ objectID: UInt16, _ instanceID: UInt16) throws(LwM2MClientError) {
        let removed = state.withLock { s in s.objects[objectID]?.instances.removeValue(forKey: instanceID) != nil }
        guard removed else { throw .notFound(.instance(objectID, instanceID)) }
        notify(structure: true, [.instance(objectID, instanceID)])
    }

    // MARK: - Hooks

    /// Answers reads of resource `resourceID` of `/objectID/instanceID` (every instance when nil) with `handler`.
    public func onRead(_ objectID: UInt16, _ instanceID: UInt16? = nil, _ resourceID: UInt16, _ handler: @escaping ReadHandler) {
        state.withLock { $0.hooks.read[HookKey(objectID: objectID, instanceID: instanceID, resourceID: resourceID)] = handler }
    }

    /// Validates server writes of the resource with `validator`.
    public func onValidate(
        _ objectID: UInt16, _ instanceID: UInt16? = nil, _ resourceID: UInt16, _ validator: @escaping WriteValidator
    ) {
        state.withLock { $0.hooks.validate[HookKey(objectID: objectID, instanceID: instanceID, resourceID: resourceID)] = validator }
    }

    /// Calls `handler` after the server wrote the resource.
    public func onWrite(_ objectID: UInt16, _ instanceID: UInt16? = nil, _ resourceID: UInt16, _ handler: @escaping WriteHandler) {
        state.withLock { $0.hooks.written[HookKey(objectID: objectID, instanceID: instanceID, resourceID: resourceID)] = handler }
    }

    /// Runs `handler` when the server executes the resource.
    public func onExecute(
        _ objectID: UInt16, _ instanceID: UInt16? = nil, _ resourceID: UInt16, _ handler: @escaping ExecuteHandler
    ) {
        state.withLock { $0.hooks.execute[HookKey(objectID: objectID, instanceID: instanceID, resourceID: resourceID)] = handler }
    }

    /// Adds a listener for changed resource paths; returns a token for `removeChangeListener`.
    @discardableResult
    public func addChangeListener(_ listener: @escaping ChangeListener) -> UInt64 {
        state.withLock { s in
            s.nextListener += 1
            s.listeners[s.nextListener] = listener
            return s.nextListener
        }
    }

    /// Removes a change listener.
    public func removeChangeListener(_ token: UInt64) {
        _ = state.withLock { $0.listeners.removeValue(forKey: token) }
    }

    // MARK: - Local access

    /// Sets a resource (`/o/i/r`) or resource instance (`/o/i/r/ri`) value from the application (no operation
    /// check; the value is converted to the resource's type).
    public func set(_ path: LwM2MPath, _ value: LwM2MValue) throws(LwM2MClientError) {
        try state.withLock { s throws(LwM2MClientError) in try Self.store(value, at: path, in: &s) }
        notify(structure: false, [path])
    }

    /// Replaces every instance of multiple resource `path` (`/o/i/r`).
    public func setInstances(_ path: LwM2MPath, _ values: [UInt16: LwM2MValue]) throws(LwM2MClientError) {
        try state.withLock { s throws(LwM2MClientError) in
            guard path.level == .resource else { throw .badRequest("not a resource path", path) }
            _ = try Self.resourceDefinition(path, in: s)
            try Self.clearResource(path, in: &s)
            for (id, v) in values { try Self.store(v, at: path.appending(id)!, in: &s) }
        }
        notify(structure: false, [path])
    }

    /// The current value of `/o/i/r` or `/o/i/r/ri` (the read handler's answer when there is one).
    public func value(at path: LwM2MPath) -> LwM2MValue? {
        let (stored, handler) = state.withLock { s in (Self.storedValue(path, in: s), s.hooks.find(s.hooks.read, path)) }
        if path.level == .resource, let handler, let v = handler(path) { return v }
        return stored
    }

    /// Runs `body` with change notification held back; listeners then hear about every change at once.
    public func batch<T>(_ body: () throws -> T) rethrows -> T {
        state.withLock { $0.batchDepth += 1 }
        defer {
            state.withLock { $0.batchDepth -= 1 }
            notify(structure: false, [])
        }
        return try body()
    }

    // MARK: - Server operations

    /// Reads `path` as a node. With `checkReadable`, resources without the R operation are left out of
    /// instances and objects and are refused with 4.05 when addressed directly.
    public func read(_ path: LwM2MPath, checkReadable: Bool = true) throws(LwM2MClientError) -> LwM2MNode {
        let (snapshot, readers): ([UInt16: ObjectSlot], [HookKey: ReadHandler]) = state.withLock { s in
            guard let o = path.objectID, let object = s.objects[o] else { return ([:], [:]) }
            return ([o: object], s.hooks.read)
        }
        guard let objectID = path.objectID else { throw .methodNotAllowed("read of the root", path) }
        guard let object = snapshot[objectID] else { throw .notFound(path) }
        let hooks = Hooks(read: readers)
        func resourceNode(_ instanceID: UInt16, _ rd: LwM2MResourceDefinition, _ slot: ResourceSlot?) -> LwM2MResource? {
            let rpath = LwM2MPath.resource(objectID, instanceID, rd.id)
            if rd.isMultiple {
                guard let values = slot?.multiple else { return nil }
                return .multiple(rd.id, values)
            }
            if let handler = hooks.find(hooks.read, rpath), let v = handler(rpath) { return .single(rd.id, v) }
            guard let v = slot?.single else { return nil }
            return .single(rd.id, v)
        }
        func instanceNode(_ instanceID: UInt16, _ slots: [UInt16: ResourceSlot]) -> LwM2MObjectInstance {
            var resources: [LwM2MResource] = []
            for rd in object.definition.resources where !checkReadable || rd.operations.contains(.read) {
                if let r = resourceNode(instanceID, rd, slots[rd.id]) { resources.append(r) }
            }
            return LwM2MObjectInstance(id: instanceID, resources: resources)
        }
        guard let instanceID = path.instanceID else {
            return .object(LwM2MObject(id: objectID, instances: object.instances.map { instanceNode($0.key, $0.value) }))
        }
        guard let slots = object.instances[instanceID] else { throw .notFound(path) }
        guard let resourceID = path.resourceID else { return .objectInstance(instanceNode(instanceID, slots)) }
        guard let rd = object.definition.resource(resourceID) else { throw .notFound(path) }
        if checkReadable && !rd.operations.contains(.read) {
            throw .methodNotAllowed("resource \(path) is not readable", path)
        }
        guard let resource = resourceNode(instanceID, rd, slots[resourceID]) else { throw .notFound(path) }
        guard let ri = path.resourceInstanceID else { return .resource(resource) }
        guard let value = resource.instances?.first(where: { $0.id == ri })?.value else { throw .notFound(path) }
        return .resourceInstance(LwM2MResourceInstance(id: ri, value: value))
    }

    /// Writes `node` at `path` for the server: Replace (`replace`, CoAP PUT) or Partial Update (POST).
    /// Checks the W operation, runs validators before storing and write handlers after.
    public func write(_ node: LwM2MNode, at path: LwM2MPath, replace: Bool) throws(LwM2MClientError) {
        try write(node, at: path, replace: replace, checkWritable: true)
    }

    /// `write(_:at:replace:)`; without `checkWritable` the W operation is not required (Bootstrap-Write).
    func write(_ node: LwM2MNode, at path: LwM2MPath, replace: Bool, checkWritable: Bool) throws(LwM2MClientError) {
        guard let objectID = path.objectID, let instanceID = path.instanceID else {
            throw .methodNotAllowed("write needs an instance or resource path", path)
        }
        var resources: [LwM2MResource]
        switch node {
        case .objectInstance(let instance): resources = instance.resources
        case .resource(let resource): resources = [resource]
        case .resourceInstance(let ri):
            guard let rid = path.resourceID else { throw .badRequest("payload does not match the path", path) }
            resources = [.multiple(rid, [ri])]
        case .object(let object):
            guard let instance = object.instances.first(where: { $0.id == instanceID }), object.instances.count == 1 else {
                throw .badRequest("payload does not match the path", path)
            }
            resources = instance.resources
        }
        if let rid = path.resourceID, resources.contains(where: { $0.id != rid }) {
            throw .badRequest("payload names another resource than \(path)", path)
        }
        let definition = try state.withLock { s throws(LwM2MClientError) -> LwM2MObjectDefinition in
            guard let object = s.objects[objectID] else { throw .notFound(path) }
            guard object.instances[instanceID] != nil else { throw .notFound(path) }
            return object.definition
        }
        // Type, operation and validation checks before anything is stored (a write is all or nothing).
        var typed: [LwM2MResource] = []
        let validators = state.withLock { $0.hooks }
        for resource in resources {
            let rpath = LwM2MPath.resource(objectID, instanceID, resource.id)
            guard let rd = definition.resource(resource.id) else {
                if path.resourceID != nil { throw .notFound(rpath) }
                throw .notFound(rpath)
            }
            guard !checkWritable || rd.operations.contains(.write) else { throw .methodNotAllowed("resource \(rpath) is not writable", rpath) }
            var r = resource
            switch resource.content {
            case .single(let v):
                if rd.isMultiple { throw .badRequest("resource \(rpath) is multiple", rpath) }
                let v2 = try Self.typed(v, rd, rpath)
                try Self.validate(validators, rpath, v2)
                r = .single(resource.id, v2)
            case .multiple(let instances):
                if !rd.isMultiple { throw .badRequest("resource \(rpath) is single", rpath) }
                var out: [LwM2MResourceInstance] = []
                for ri in instances {
                    let ripath = rpath.appending(ri.id)!
                    let v2 = try Self.typed(ri.value, rd, ripath)
                    try Self.validate(validators, ripath, v2)
                    out.append(LwM2MResourceInstance(id: ri.id, value: v2))
                }
                r = .multiple(resource.id, out)
            }
            typed.append(r)
        }
        var changed: Set<LwM2MPath> = []
        try state.withLock { s throws(LwM2MClientError) in
            guard s.objects[objectID]?.instances[instanceID] != nil else { throw .notFound(path) }
            if replace && path.resourceID == nil {
                // Replace an instance: writable resources not in the payload are removed.
                for rd in definition.resources where rd.operations.contains(.write) && !typed.contains(where: { $0.id == rd.id }) {
                    if s.objects[objectID]!.instances[instanceID]!.removeValue(forKey: rd.id) != nil {
                        changed.insert(.resource(objectID, instanceID, rd.id))
                    }
                }
            }
            for r in typed {
                let rpath = LwM2MPath.resource(objectID, instanceID, r.id)
                switch r.content {
                case .single(let v):
                    s.objects[objectID]!.instances[instanceID]![r.id] = ResourceSlot(single: v)
                case .multiple(let instances):
                    var current = (replace && path.resourceInstanceID == nil) ? [:] :
                        (s.objects[objectID]!.instances[instanceID]![r.id]?.multiple ?? [:])
                    for ri in instances { current[ri.id] = ri.value }
                    s.objects[objectID]!.instances[instanceID]![r.id] = ResourceSlot(multiple: current)
                }
                changed.insert(rpath)
            }
        }
        for r in typed {
            let rpath = LwM2MPath.resource(objectID, instanceID, r.id)
            if let handler = validators.find(validators.written, rpath) {
                switch r.content {
                case .single(let v): handler(rpath, v)
                case .multiple(let instances): for ri in instances { handler(rpath.appending(ri.id)!, ri.value) }
                }
            }
        }
        notify(structure: false, changed)
    }

    /// Executes resource `path` with `arguments`; 4.05 when the resource lacks the E operation.
    public func execute(_ path: LwM2MPath, arguments: String = "") async throws {
        guard path.level == .resource, let objectID = path.objectID, let rid = path.resourceID else {
            throw LwM2MClientError.methodNotAllowed("execute needs a resource path", path)
        }
        let (definition, exists, handler) = state.withLock { s in
            (s.objects[objectID]?.definition, s.objects[objectID]?.instances[path.instanceID!] != nil,
             s.hooks.find(s.hooks.execute, path))
        }
        guard let definition, exists, let rd = definition.resource(rid) else { throw LwM2MClientError.notFound(path) }
        guard rd.operations.contains(.execute) else {
            throw LwM2MClientError.methodNotAllowed("resource \(path) is not executable", path)
        }
        try await handler?(path, arguments)
    }

    // MARK: - Registration payload

    /// The objects and instances as the Register/Update payload (Core TS 6.2.1): every object except
    /// Security (0) and OSCORE (21); for 1.1, `ver=` on objects whose version is not 1.0.
    public func registrationLinks(version: LwM2MEnablerVersion) -> String {
        let objects = state.withLock { s in s.objects.values.map { ($0.definition, $0.instances.keys.sorted()) } }
        var links: [String] = []
        for (definition, instances) in objects.sorted(by: { $0.0.id < $1.0.id }) where definition.id != 0 && definition.id != 21 {
            let ver = version == .v1_1 && definition.objectVersion != "1.0" ? ";ver=\(definition.objectVersion)" : ""
            if instances.isEmpty || !ver.isEmpty { links.append("</\(definition.id)>\(ver)") }
            for i in instances { links.append("</\(definition.id)/\(i)>") }
        }
        return links.joined(separator: ",")
    }

    // MARK: - Internals

    private func notify(structure: Bool, _ paths: Set<LwM2MPath>) {
        let (listeners, changes): ([ChangeListener], Set<LwM2MPath>) = state.withLock { s in
            s.pending.formUnion(paths)
            if structure {
                s.structureChanged = true
                s.structureVersion &+= 1
            }
            guard s.batchDepth == 0, !s.pending.isEmpty else { return ([], []) }
            let pending = s.pending
            s.pending = []
            return (Array(s.listeners.values), pending)
        }
        for listener in listeners { listener(changes) }
    }

    /// A counter that grows on every structural change (object added, instance created or deleted). Unlike
    /// `takeStructureChange()`, reading it consumes nothing, so several observers (one client per server
    /// account) can each notice the same change.
    public var structureVersion: UInt64 { state.withLock { $0.structureVersion } }

    /// Whether the object list changed since the last call (create/delete/add); clears the flag.
    public func takeStructureChange() -> Bool {
        state.withLock { s in
            defer { s.structureChanged = false }
            return s.structureChanged
        }
    }

    private static func validate(_ hooks: Hooks, _ path: LwM2MPath, _ value: LwM2MValue) throws(LwM2MClientError) {
        guard let validator = hooks.find(hooks.validate, path) else { return }
        do {
            try validator(path, value)
        } catch let error as LwM2MClientError {
            throw error
        } catch {
            throw .badRequest("\(error)", path)
        }
    }

    static func typed(_ value: LwM2MValue, _ rd: LwM2MResourceDefinition, _ path: LwM2MPath) throws(LwM2MClientError) -> LwM2MValue {
        if rd.type == .none || value.type == rd.type { return value }
        guard let v = value.coerced(to: rd.type) else {
            throw .badRequest("\(value.type.rawValue) value for a \(rd.type.rawValue) resource", path)
        }
        return v
    }

    private static func slot(
        for resource: LwM2MResource, objectID: UInt16, instanceID: UInt16, in definition: LwM2MObjectDefinition
    ) -> Result<ResourceSlot, LwM2MClientError> {
        let path = LwM2MPath.resource(objectID, instanceID, resource.id)
        guard let rd = definition.resource(resource.id) else { return .failure(.notFound(path)) }
        do throws(LwM2MClientError) {
            switch resource.content {
            case .single(let v):
                if rd.isMultiple { return .success(ResourceSlot(multiple: [0: try typed(v, rd, path)])) }
                return .success(ResourceSlot(single: try typed(v, rd, path)))
            case .multiple(let instances):
                guard rd.isMultiple else { return .failure(.badRequest("resource \(path) is single", path)) }
                var values: [UInt16: LwM2MValue] = [:]
                for ri in instances { values[ri.id] = try typed(ri.value, rd, path.appending(ri.id)!) }
                return .success(ResourceSlot(multiple: values))
            }
        } catch {
            return .failure(error)
        }
    }

    private static func resourceDefinition(_ path: LwM2MPath, in s: State) throws(LwM2MClientError) -> LwM2MResourceDefinition {
        guard let o = path.objectID, let i = path.instanceID, let r = path.resourceID,
              let object = s.objects[o], object.instances[i] != nil, let rd = object.definition.resource(r)
        else { throw .notFound(path) }
        return rd
    }

    private static func clearResource(_ path: LwM2MPath, in s: inout State) throws(LwM2MClientError) {
        s.objects[path.objectID!]!.instances[path.instanceID!]![path.resourceID!] = nil
    }

    private static func store(_ value: LwM2MValue, at path: LwM2MPath, in s: inout State) throws(LwM2MClientError) {
        guard path.level == .resource || path.level == .resourceInstance else {
            throw .badRequest("not a resource path", path)
        }
        let rd = try resourceDefinition(path, in: s)
        let v = try typed(value, rd, path)
        let (o, i, r) = (path.objectID!, path.instanceID!, path.resourceID!)
        var slot = s.objects[o]!.instances[i]![r] ?? ResourceSlot()
        if let ri = path.resourceInstanceID {
            guard rd.isMultiple else { throw .badRequest("resource \(path) is single", path) }
            slot.multiple = (slot.multiple ?? [:]).merging([ri: v]) { _, new in new }
        } else if rd.isMultiple {
            slot.multiple = [0: v]
        } else {
            slot.single = v
        }
        s.objects[o]!.instances[i]![r] = slot
    }

    private static func storedValue(_ path: LwM2MPath, in s: State) -> LwM2MValue? {
        guard let o = path.objectID, let i = path.instanceID, let r = path.resourceID,
              let slot = s.objects[o]?.instances[i]?[r] else { return nil }
        if let ri = path.resourceInstanceID { return slot.multiple?[ri] }
        return slot.single
    }

    private static func exists(_ path: LwM2MPath, in s: State) -> Bool {
        guard let o = path.objectID else { return true }
        guard let object = s.objects[o] else { return false }
        guard let i = path.instanceID else { return true }
        guard let instance = object.instances[i] else { return false }
        guard let r = path.resourceID else { return true }
        if s.hooks.find(s.hooks.read, path) != nil { return true }
        guard let slot = instance[r] else { return false }
        guard let ri = path.resourceInstanceID else { return true }
        return slot.multiple?[ri] != nil
    }
}
