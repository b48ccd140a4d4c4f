/// A path into the LwM2M object tree: `/`, `/3`, `/3/0`, `/3/0/9` or `/3/0/11/0`.
///
/// Identifiers are 0...65534 (65535 is reserved by the specification). The path is stored inline
/// (no heap allocation) and is cheap to copy, hash and compare. Paths order by their identifiers,
/// shorter before longer at a common prefix (`/3 < /3/0 < /3/0/0 < /3/1`).
public struct LwM2MPath: Hashable, Sendable, Comparable {
    /// The reserved identifier value, used internally to mark an absent level.
    @usableFromInline static let absent: UInt16 = 0xFFFF

    @usableFromInline var o: UInt16
    @usableFromInline var i: UInt16
    @usableFromInline var r: UInt16
    @usableFromInline var ri: UInt16

    /// The root path `/`.
    public static let root = LwM2MPath(uncheckedObject: absent, instance: absent, resource: absent, resourceInstance: absent)

    @inlinable
    init(uncheckedObject o: UInt16, instance i: UInt16, resource r: UInt16, resourceInstance ri: UInt16) {
        self.o = o
        self.i = i
        self.r = r
        self.ri = ri
    }

    /// Creates a path from its identifiers; a `nil` level ends the path (later levels must be `nil` too).
    ///
    /// Returns `nil` when an identifier is 65535 or a level is given below an absent one.
    @inlinable
    public init?(objectID: UInt16?, instanceID: UInt16? = nil, resourceID: UInt16? = nil, resourceInstanceID: UInt16? = nil) {
        // A level may only be present when every level above it is; 65535 is reserved.
        if objectID == Self.absent || instanceID == Self.absent || resourceID == Self.absent
            || resourceInstanceID == Self.absent
        {
            return nil
        }
        if objectID == nil && instanceID != nil { return nil }
        if instanceID == nil && resourceID != nil { return nil }
        if resourceID == nil && resourceInstanceID != nil { return nil }
        self.init(
            uncheckedObject: objectID ?? Self.absent,
            instance: instanceID ?? Self.absent,
            resource: resourceID ?? Self.absent,
            resourceInstance: resourceInstanceID ?? Self.absent
        )
    }

    /// An object path `/o`.
    @inlinable public static func object(_ o: UInt16) -> LwM2MPath {
        precondition(o != absent, "65535 is a reserved LwM2M identifier")
        return LwM2MPath(uncheckedObject: o, instance: absent, resource: absent, resourceInstance: absent)
    }

    /// An object instance path `/o/i`.
    @inlinable public static func instance(_ o: UInt16, _ i: UInt16) -> LwM2MPath {
        precondition(o != absent && i != absent, "65535 is a reserved LwM2M identifier")
        return LwM2MPath(uncheckedObject: o, instance: i, resource: absent, resourceInstance: absent)
    }

    /// A resource path `/o/i/r`.
    @inlinable public static func resource(_ o: UInt16, _ i: UInt16, _ r: UInt16) -> LwM2MPath {
        precondition(o != absent && i != absent && r != absent, "65535 is a reserved LwM2M identifier")
        return LwM2MPath(uncheckedObject: o, instance: i, resource: r, resourceInstance: absent)
    }

    /// A resource instance path `/o/i/r/ri`.
    @inlinable public static func resourceInstance(_ o: UInt16, _ i: UInt16, _ r: UInt16, _ ri: UInt16) -> LwM2MPath {
        precondition(o != absent && i != absent && r != absent && ri != absent, "65535 is a reserved LwM2M identifier")
        return LwM2MPath(uncheckedObject: o, instance: i, resource: r, resourceInstance: ri)
    }

    /// The object identifier, or `nil` for the root path.
    @inlinable public var objectID: UInt16? { o == Self.absent ? nil : o }
    /// The object instance identifier, if the path is that deep.
    @inlinable public var instanceID: UInt16? { i == Self.absent ? nil : i }
    /// The resource identifier, if the path is that deep.
    @inlinable public var resourceID: UInt16? { r == Self.absent ? nil : r }
    /// The resource instance identifier, if the path is that deep.
    @inlinable public var resourceInstanceID: UInt16? { ri == Self.absent ? nil : ri }

    /// The number of levels: 0 for `/`, 1 for an object, ... 4 for a resource instance.
    @inlinable public var depth: Int {
        if o == Self.absent { return 0 }
        if i == Self.absent { return 1 }
        if r == Self.absent { return 2 }
        if ri == Self.absent { return 3 }
        return 4
    }

    /// The level of the tree this path names.
    public enum Level: Int, Sendable, Hashable, Comparable {
        case root = 0, object, objectInstance, resource, resourceInstance

        /// Shallower levels first.
        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The level of the tree this path names.
    @inlinable public var level: Level { Level(rawValue: depth)! }

    /// The identifier at `index` (0 = object ... 3 = resource instance), or `nil` past the path's depth.
    @inlinable public subscript(index: Int) -> UInt16? {
        switch index {
        case 0: return objectID
        case 1: return instanceID
        case 2: return resourceID
        case 3: return resourceInstanceID
        default: return nil
        }
    }

    /// The path one level up, or `nil` for the root.
    @inlinable public var parent: LwM2MPath? {
        switch depth {
        case 0: return nil
        case 1: return .root
        case 2: return LwM2MPath(uncheckedObject: o, instance: Self.absent, resource: Self.absent, resourceInstance: Self.absent)
        case 3: return LwM2MPath(uncheckedObject: o, instance: i, resource: Self.absent, resourceInstance: Self.absent)
        default: return LwM2MPath(uncheckedObject: o, instance: i, resource: r, resourceInstance: Self.absent)
        }
    }

    /// This path extended by one level, or `nil` when it is already a resource instance path or `id` is 65535.
    @inlinable public func appending(_ id: UInt16) -> LwM2MPath? {
        guard id != Self.absent else { return nil }
        switch depth {
        case 0: return LwM2MPath(uncheckedObject: id, instance: Self.absent, resource: Self.absent, resourceInstance: Self.absent)
        case 1: return LwM2MPath(uncheckedObject: o, instance: id, resource: Self.absent, resourceInstance: Self.absent)
        case 2: return LwM2MPath(uncheckedObject: o, instance: i, resource: id, resourceInstance: Self.absent)
        case 3: return LwM2MPath(uncheckedObject: o, instance: i, resource: r, resourceInstance: id)
        default: return nil
        }
    }

    /// Whether `self` is `other` or one of its ancestors (`/3/0` is a prefix of `/3/0/9`; `/` of everything).
    @inlinable public func isPrefix(of other: LwM2MPath) -> Bool {
        let d = depth
        if d > other.depth { return false }
        for level in 0..<d where self[level] != other[level] { return false }
        return true
    }

    /// Whether `self` is a strict ancestor of `other`.
    @inlinable public func isAncestor(of other: LwM2MPath) -> Bool {
        depth < other.depth && isPrefix(of: other)
    }

    /// Orders by identifiers, a path before its descendants.
    @inlinable public static func < (lhs: LwM2MPath, rhs: LwM2MPath) -> Bool {
        // `absent` is 0xFFFF, so a missing level would sort last; map it below every real ID instead.
        @inline(__always) func key(_ v: UInt16) -> Int { v == absent ? -1 : Int(v) }
        if lhs.o != rhs.o { return key(lhs.o) < key(rhs.o) }
        if lhs.i != rhs.i { return key(lhs.i) < key(rhs.i) }
        if lhs.r != rhs.r { return key(lhs.r) < key(rhs.r) }
        return key(lhs.ri) < key(rhs.ri)
    }
}

extension LwM2MPath: CustomStringConvertible {
    /// The canonical text form: `/`, `/3`, `/3/0/9`.
    public var description: String {
        let d = depth
        if d == 0 { return "/" }
        var s = ""
        for level in 0..<d {
            s += "/"
            s += String(self[level]!)
        }
        return s
    }
}
