/// The instances of a multiple resource, ordered by ID with no duplicates.
///
/// A collection of ``LwM2MResourceInstance`` values (indices `0..<count`) that stores up to two instances inline
/// and spills to an array beyond: most multiple resources hold one or two instances (power sources, error codes,
/// bearers, server lists), so decoding them allocates nothing of their own. Equality and hashing compare the
/// elements only, whichever storage holds them.
///
/// ```swift
/// var errors: LwM2MResourceInstances = [LwM2MResourceInstance(id: 0, value: .integer(0))]
/// errors.insert(LwM2MResourceInstance(id: 1, value: .integer(7)))
/// // errors.map(\.id) == [0, 1]; errors[id: 1] == .integer(7)
/// ```
public struct LwM2MResourceInstances: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral,
    CustomStringConvertible
{
    /// What follows the first inline value: nothing, the second inline value, or every instance in an array.
    @usableFromInline
    enum Rest: Sendable {
        case none
        case value(LwM2MValue)
        case spilled([LwM2MResourceInstance])
    }

    /// Inline storage (`rest` is not `.spilled`): `inlineCount` instances, `id0`/`value0` then `id1`/`rest`.
    @usableFromInline var id0: UInt16 = 0
    @usableFromInline var id1: UInt16 = 0
    @usableFromInline var inlineCount: UInt8 = 0
    /// The first inline value; a placeholder when there is none or the storage spilled.
    @usableFromInline var value0: LwM2MValue = Self.placeholder
    @usableFromInline var rest: Rest = .none

    /// The value parked in `value0` when it holds no instance (trivial: no reference to release).
    @usableFromInline static var placeholder: LwM2MValue { .boolean(false) }

    /// Creates an empty collection.
    @inlinable public init() {}

    /// Creates the collection of `instances`, sorted by ID; of instances sharing an ID, the last one is kept.
    @inlinable public init(_ instances: [LwM2MResourceInstance]) {
        switch instances.count {
        case 0:
            return
        case 1:
            id0 = instances[0].id
            value0 = instances[0].value
            inlineCount = 1
        case 2 where instances[0].id < instances[1].id:
            id0 = instances[0].id
            value0 = instances[0].value
            id1 = instances[1].id
            rest = .value(instances[1].value)
            inlineCount = 2
        default:
            if isStrictlyOrdered(instances) {
                rest = .spilled(instances)
            } else {
                self = LwM2MResourceInstances(sortingUnique: instances)
            }
        }
    }

    /// Creates the collection of `instances`, sorted by ID; of instances sharing an ID, the last one is kept.
    @inlinable public init<S: Sequence>(_ instances: S) where S.Element == LwM2MResourceInstance {
        self.init(Array(instances))
    }

    /// Creates the collection of the literal's instances, sorted by ID; of instances sharing an ID, the last one is
    /// kept.
    @inlinable public init(arrayLiteral elements: LwM2MResourceInstance...) {
        self.init(elements)
    }

    /// The cold path of `init(_:)`: sorts (stable) and keeps the last instance of each ID.
    @usableFromInline init(sortingUnique instances: [LwM2MResourceInstance]) {
        let sorted = instances.indices.sorted { (instances[$0].id, $0) < (instances[$1].id, $1) }
        var unique: [LwM2MResourceInstance] = []
        unique.reserveCapacity(sorted.count)
        for k in sorted {
            if let last = unique.last, last.id == instances[k].id {
                unique[unique.count - 1] = instances[k]
            } else {
                unique.append(instances[k])
            }
        }
        self.init(unique)
    }

    // MARK: Collection

    /// The position of the first instance (always 0).
    @inlinable public var startIndex: Int { 0 }

    /// The position after the last instance (the count).
    @inlinable public var endIndex: Int { count }

    /// The number of instances.
    @inlinable public var count: Int {
        if case .spilled(let instances) = rest { return instances.count }
        return Int(inlineCount)
    }

    /// Whether there are no instances.
    @inlinable public var isEmpty: Bool { count == 0 }

    /// The instance at `position` (`0..<count`), in ID order.
    @inlinable public subscript(position: Int) -> LwM2MResourceInstance {
        switch rest {
        case .spilled(let instances):
            return instances[position]
        case .value(let second):
            precondition(position == 0 || position == 1, "LwM2MResourceInstances index out of range")
            return position == 0
                ? LwM2MResourceInstance(id: id0, value: value0) : LwM2MResourceInstance(id: id1, value: second)
        case .none:
            precondition(position == 0 && inlineCount == 1, "LwM2MResourceInstances index out of range")
            return LwM2MResourceInstance(id: id0, value: value0)
        }
    }

    /// The value of the instance with `id`, if present.
    @inlinable public subscript(id id: UInt16) -> LwM2MValue? {
        switch rest {
        case .spilled(let instances):
            return instances.first { $0.id == id }?.value
        case .value(let second):
            return id == id0 ? value0 : id == id1 ? second : nil
        case .none:
            return inlineCount == 1 && id == id0 ? value0 : nil
        }
    }

    // MARK: Building

    /// Adds `instance` in ID order, replacing an instance with the same ID.
    ///
    /// Constant time (amortized) when its ID is above the last one, as when a decoder adds instances in payload
    /// order; the third instance moves the storage to an array.
    @inlinable public mutating func insert(_ instance: LwM2MResourceInstance) {
        switch rest {
        case .none:
            if inlineCount == 0 {
                id0 = instance.id
                value0 = instance.value
                inlineCount = 1
            } else if instance.id > id0 {
                id1 = instance.id
                rest = .value(instance.value)
                inlineCount = 2
            } else if instance.id == id0 {
                value0 = instance.value
            } else {
                id1 = id0
                rest = .value(value0)
                id0 = instance.id
                value0 = instance.value
                inlineCount = 2
            }
        case .value(let second):
            if instance.id == id0 {
                value0 = instance.value
            } else if instance.id == id1 {
                rest = .value(instance.value)
            } else {
                spill(second, adding: instance)
            }
        case .spilled(var instances):
            rest = .none  // leaves the array uniquely referenced, so the insertion does not copy it
            Self.insert(instance, into: &instances)
            rest = .spilled(instances)
        }
    }

    /// Moves the two inline instances and `instance` to an array.
    @usableFromInline mutating func spill(_ second: LwM2MValue, adding instance: LwM2MResourceInstance) {
        var instances: [LwM2MResourceInstance] = []
        instances.reserveCapacity(4)
        instances.append(LwM2MResourceInstance(id: id0, value: value0))
        instances.append(LwM2MResourceInstance(id: id1, value: second))
        Self.insert(instance, into: &instances)
        value0 = Self.placeholder
        inlineCount = 0
        rest = .spilled(instances)
    }

    @inlinable static func insert(_ instance: LwM2MResourceInstance, into instances: inout [LwM2MResourceInstance]) {
        if let last = instances.last, last.id >= instance.id {
            insertInOrder(instance, into: &instances)
        } else {
            instances.append(instance)
        }
    }

    /// The slow path of `insert(_:into:)`: the ID is not above the last one.
    @usableFromInline static func insertInOrder(
        _ instance: LwM2MResourceInstance, into instances: inout [LwM2MResourceInstance]
    ) {
        let k = instances.firstIndex { $0.id >= instance.id }!
        if instances[k].id == instance.id {
            instances[k] = instance
        } else {
            instances.insert(instance, at: k)
        }
    }

    /// Removes the instance with `id`; returns its value, or `nil` when there is none.
    @discardableResult
    public mutating func remove(id: UInt16) -> LwM2MValue? {
        guard let k = firstIndex(where: { $0.id == id }) else { return nil }
        var instances = Array(self)
        let removed = instances.remove(at: k)
        self = LwM2MResourceInstances(instances)
        return removed.value
    }

    /// Makes room for `count` instances: beyond two, the storage moves to an array of that capacity now (a decoder
    /// that knows the count avoids regrowing it).
    @inlinable public mutating func reserveCapacity(_ count: Int) {
        guard count > 2 else { return }
        if case .spilled(var instances) = rest {
            rest = .none
            instances.reserveCapacity(count)
            rest = .spilled(instances)
            return
        }
        var instances: [LwM2MResourceInstance] = []
        instances.reserveCapacity(count)
        instances.append(contentsOf: self)
        value0 = Self.placeholder
        inlineCount = 0
        rest = .spilled(instances)
    }

    // MARK: Equality, hashing, description

    /// Whether both hold the same instances in the same order, whichever storage holds them.
    @inlinable public static func == (lhs: LwM2MResourceInstances, rhs: LwM2MResourceInstances) -> Bool {
        lhs.count == rhs.count && lhs.elementsEqual(rhs)
    }

    /// Hashes the instances (as an array of them would), whichever storage holds them.
    @inlinable public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for instance in self { hasher.combine(instance) }
    }

    /// The instances, printed as an array.
    public var description: String { Array(self).description }
}

/// Whether each element's ID is above the previous one's.
@inlinable func isStrictlyOrdered(_ instances: [LwM2MResourceInstance]) -> Bool {
    var k = 1
    while k < instances.count {
        if instances[k].id <= instances[k - 1].id { return false }
        k += 1
    }
    return true
}
