public import LwM2MModel

/// The arrays of a node that a decode overwrites, emptied with their capacity kept, for the decoders to fill
/// again: what ``LwM2MCodec/decode(_:at:as:into:)-(UnsafeRawBufferPointer,_,_,_)`` reuses.
///
/// A fresh decode passes an empty storage (two empty arrays: nothing allocated, nothing to free). The decoders
/// move the arrays out into the node they return, so the storage is empty again after a successful decode.
@usableFromInline
struct LwM2MNodeStorage {
    /// An object's instances: the spares whose resource arrays an object decode refills (instance `k` takes
    /// the array of spare `k`), then the decoded instances themselves.
    @usableFromInline var instances: [LwM2MObjectInstance] = []
    /// An empty resource array for an object instance's resources (for an object decode: its first instance's).
    @usableFromInline var resources: [LwM2MResource] = []

    /// An empty storage: the decoders allocate as a fresh decode does.
    @inlinable @inline(__always)
    init() {}

    /// Takes the arrays of `node` that a decode at `level` can refill, leaving `node` a trivial value (a boolean
    /// resource instance) so that those arrays are referenced from here only and change in place. Arrays shared
    /// with another copy of the node are not changed: emptying them allocates new ones (copy on write).
    ///
    /// An object's instances serve an object decode; its first instance's resources, or an object instance's,
    /// serve an object instance decode (and an object decode's first instance when there are no spares). At the
    /// resource and resource instance levels nothing is taken and `node` is left as it is.
    @inlinable
    init(taking node: inout LwM2MNode, for level: LwM2MPath.Level) {
        guard level == .object || level == .objectInstance else { return }
        switch node {
        case .object(var object):
            node = Self.placeholder
            swap(&instances, &object.instances)
            if level == .objectInstance && !instances.isEmpty { swap(&resources, &instances[0].resources) }
        case .objectInstance(var instance):
            node = Self.placeholder
            swap(&resources, &instance.resources)
        case .resource, .resourceInstance:
            return
        }
        if level == .objectInstance { instances = [] }
        resources.removeAll(keepingCapacity: true)
    }

    /// What `node` holds while its arrays are being refilled: a value with no storage of its own.
    @inlinable
    static var placeholder: LwM2MNode { .resourceInstance(LwM2MResourceInstance(id: 0, value: .boolean(false))) }

    /// An empty resource array for the object's instance at position `k`: spare `k`'s, else the spare array,
    /// else a new one.
    @inlinable @inline(__always)
    mutating func resources(forInstance k: Int) -> [LwM2MResource] {
        var r: [LwM2MResource] = []
        if k < instances.count {
            swap(&r, &instances[k].resources)
            r.removeAll(keepingCapacity: true)
        } else {
            swap(&r, &resources)
        }
        return r
    }

    /// Stores the decoded instance at position `k` (over spare `k`, else appended).
    @inlinable @inline(__always)
    mutating func setInstance(_ instance: LwM2MObjectInstance, at k: Int) {
        if k < instances.count {
            instances[k] = instance
        } else {
            instances.append(instance)
        }
    }

    /// The decoded instances, the `count` first (the spares after them are dropped), moved out.
    @inlinable @inline(__always)
    mutating func takeInstances(count: Int) -> [LwM2MObjectInstance] {
        if count < instances.count { instances.removeSubrange(count...) }
        var taken: [LwM2MObjectInstance] = []
        swap(&taken, &instances)
        return taken
    }

    /// The empty node of `path`'s level, in the arrays still held here (emptied, capacity kept): an object with no
    /// instances, an object instance with no resources, a multiple resource with no instances, a resource
    /// instance holding an empty opaque value. What `node` holds after a decode into it throws.
    @inlinable
    mutating func emptyNode(at path: LwM2MPath) -> LwM2MNode {
        switch path.level {
        case .root, .object:
            instances.removeAll(keepingCapacity: true)
            var object = LwM2MObject(id: path.objectID ?? 0, instances: [])
            swap(&object.instances, &instances)
            return .object(object)
        case .objectInstance:
            resources.removeAll(keepingCapacity: true)
            var instance = LwM2MObjectInstance(id: path.instanceID!, resources: [])
            swap(&instance.resources, &resources)
            return .objectInstance(instance)
        case .resource:
            return .resource(LwM2MResource(id: path.resourceID!, content: .multiple([])))
        case .resourceInstance:
            return .resourceInstance(LwM2MResourceInstance(id: path.resourceInstanceID!, value: .opaque([])))
        }
    }
}
