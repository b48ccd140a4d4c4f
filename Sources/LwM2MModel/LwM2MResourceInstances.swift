/// The instances of a multiple resource, ordered by ID with no duplicates.
///
/// A collection of ``LwM2MResourceInstance`` values (indices `0..<count`). Most multiple resources hold one or two
/// instances of small values (power sources, error codes, bearers, voltages, server lists), so up to two instances
/// are stored inline when their values fit in 32 bits: integers and times in `Int32`, unsigned integers in
/// `UInt32`, floats exact in single precision, booleans, object links. Anything else (more instances, strings,
/// opaque values, wider numbers) is stored in an array. Decoding such a resource allocates nothing of its own, and
/// ``LwM2MResource`` stays four words long. Equality and hashing compare the elements only, whichever storage holds
/// them.
///
/// ```swift
/// var errors: LwM2MResourceInstances = [LwM2MResourceInstance(id: 0, value: .integer(0))]
/// errors.insert(LwM2MResourceInstance(id: 1, value: .integer(7)))
/// // errors.map(\.id) == [0, 1]; errors[id: 1] == .integer(7)
/// ```
public struct LwM2MResourceInstances: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral,
    CustomStringConvertible
{
    /// Up to two small instances packed in two words, or every instance in an array.
    ///
    /// `header`: bits 0-15 and 16-31 the IDs of slots 0 and 1, bits 32-33 the count (0-2), bits 34-36 and 37-39 the
    /// value kinds of slots 0 and 1 (see `packed`). `values`: the 32-bit values of slot 0 (low half) and slot 1.
    /// Unused bits are zero.
    @usableFromInline
    enum Storage: Sendable {
        case inline(header: UInt64, values: UInt64)
        case spilled([LwM2MResourceInstance])
    }

    @usableFromInline var storage: Storage

    /// Creates an empty collection.
    @inlinable public init() {
        storage = .inline(header: 0, values: 0)
    }

    /// Creates the collection of `instances`, sorted by ID; of instances sharing an ID, the last one is kept.
    @inlinable public init(_ instances: [LwM2MResourceInstance]) {
        storage = .inline(header: 0, values: 0)
        if instances.count <= 2 && (instances.count < 2 || instances[0].id < instances[1].id) {
            for instance in instances { insert(instance) }
        } else if isStrictlyOrdered(instances) {
            storage = .spilled(instances)
        } else {
            self = LwM2MResourceInstances(sortingUnique: instances)
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

    // MARK: Packing

    /// The kind (0-5) and 32 bits of a value that fits inline, else `nil`.
    @inlinable @inline(__always)
    static func packed(_ value: LwM2MValue) -> (kind: UInt64, bits: UInt64)? {
        switch value {
        case .integer(let v):
            guard let w = Int32(exactly: v) else { return nil }
            return (0, UInt64(UInt32(bitPattern: w)))
        case .unsignedInteger(let v):
            guard let w = UInt32(exactly: v) else { return nil }
            return (1, UInt64(w))
        case .float(let d):
            let f = Float(d)
            guard Double(f).bitPattern == d.bitPattern else { return nil }
            return (2, UInt64(f.bitPattern))
        case .boolean(let b):
            return (3, b ? 1 : 0)
        case .time(let v):
            guard let w = Int32(exactly: v) else { return nil }
            return (4, UInt64(UInt32(bitPattern: w)))
        case .objectLink(let link):
            return (5, UInt64(link.objectID) << 16 | UInt64(link.instanceID))
        case .string, .opaque, .coreLink:
            return nil
        }
    }

    /// The value that `packed` turned into `kind` and `bits`.
    @inlinable @inline(__always)
    static func unpacked(_ kind: UInt64, _ bits: UInt64) -> LwM2MValue {
        let low = UInt32(truncatingIfNeeded: bits)
        switch kind {
        case 0: return .integer(Int64(Int32(bitPattern: low)))
        case 1: return .unsignedInteger(UInt64(low))
        case 2: return .float(Double(Float(bitPattern: low)))
        case 3: return .boolean(low != 0)
        case 4: return .time(Int64(Int32(bitPattern: low)))
        default:
            return .objectLink(
                LwM2MObjectLink(objectID: UInt16(truncatingIfNeeded: low >> 16), instanceID: UInt16(truncatingIfNeeded: low)))
        }
    }

    /// The instance in inline slot `k` (0 or 1).
    @inlinable @inline(__always)
    static func slot(_ k: Int, _ header: UInt64, _ values: UInt64) -> LwM2MResourceInstance {
        LwM2MResourceInstance(
            id: UInt16(truncatingIfNeeded: header &>> (16 &* UInt64(k))),
            value: unpacked(header &>> (34 &+ 3 &* UInt64(k)) & 7, values &>> (32 &* UInt64(k))))
    }

    /// `header` and `values` with slot `k` set to `id`, `kind` and `bits` (the count is left alone).
    @inlinable @inline(__always)
    static func setting(_ k: Int, _ id: UInt16, _ kind: UInt64, _ bits: UInt64, _ header: UInt64, _ values: UInt64)
        -> (header: UInt64, values: UInt64)
    {
        let idShift = 16 &* UInt64(k)
        let kindShift = 34 &+ 3 &* UInt64(k)
        let valueShift = 32 &* UInt64(k)
        let h = header & ~(0xFFFF &<< idShift | 7 &<< kindShift) | UInt64(id) &<< idShift | kind &<< kindShift
        let v = values & ~(0xFFFF_FFFF &<< valueShift) | bits &<< valueShift
        return (h, v)
    }

    // MARK: Collection

    /// The position of the first instance (always 0).
    @inlinable public var startIndex: Int { 0 }

    /// The position after the last instance (the count).
    @inlinable public var endIndex: Int { count }

    /// The number of instances.
    @inlinable public var count: Int {
        switch storage {
        case .inline(let header, _): return Int(truncatingIfNeeded: header &>> 32 & 3)
        case .spilled(let instances): return instances.count
        }
    }

    /// Whether there are no instances.
    @inlinable public var isEmpty: Bool { count == 0 }

    /// The instance at `position` (`0..<count`), in ID order.
    @inlinable public subscript(position: Int) -> LwM2MResourceInstance {
        switch storage {
        case .inline(let header, let values):
            precondition(position >= 0 && position < Int(truncatingIfNeeded: header &>> 32 & 3),
                         "LwM2MResourceInstances index out of range")
            return Self.slot(position, header, values)
        case .spilled(let instances):
            return instances[position]
        }
    }

    /// Calls `body` with the instances in contiguous memory: the array's storage when spilled, else the inline
    /// instances unpacked into a temporary buffer (on the stack). The buffer is valid only during the call.
    ///
    /// The fast way to read every instance (encoders): no iterator state, and elements borrowed from the buffer.
    @inlinable @inline(__always)
    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<LwM2MResourceInstance>) throws(E) -> R
    ) throws(E) -> R {
        switch storage {
        case .inline(let header, let values):
            let n = Int(truncatingIfNeeded: header &>> 32 & 3)
            return try withUnsafeTemporaryAllocation(of: LwM2MResourceInstance.self, capacity: 2) {
                (buffer) throws(E) -> R in
                let base = buffer.baseAddress.unsafelyUnwrapped
                for k in 0..<n { (base + k).initialize(to: Self.slot(k, header, values)) }
                // Inline values hold no references (see `packed`): nothing to deinitialize after the call.
                return try body(UnsafeBufferPointer(start: base, count: n))
            }
        case .spilled(let instances):
            return try instances.withUnsafeBufferPointer(body)
        }
    }

    /// The inline instances, read in packed form without building an ``LwM2MValue``; `nil` when they are held in
    /// an array. The encoders' fast path: they write each slot from its ID, kind and 32 bits.
    @inlinable @inline(__always)
    package var packed: LwM2MPackedInstances? {
        if case .inline(let header, let values) = storage {
            return LwM2MPackedInstances(header: header, values: values)
        }
        return nil
    }

    /// The value of the instance with `id`, if present.
    @inlinable public subscript(id id: UInt16) -> LwM2MValue? {
        switch storage {
        case .inline(let header, let values):
            for k in 0..<Int(truncatingIfNeeded: header &>> 32 & 3)
            where UInt16(truncatingIfNeeded: header &>> (16 &* UInt64(k))) == id {
                return Self.slot(k, header, values).value
            }
            return nil
        case .spilled(let instances):
            return instances.first { $0.id == id }?.value
        }
    }

    // MARK: Building

    /// Adds `instance` in ID order, replacing an instance with the same ID.
    ///
    /// Constant time (amortized) when its ID is above the last one, as when a decoder adds instances in payload
    /// order. A third instance, or a value that does not fit inline, moves the storage to an array.
    @inlinable public mutating func insert(_ instance: LwM2MResourceInstance) {
        switch storage {
        case .inline(let header, let values):
            guard let (kind, bits) = Self.packed(instance.value) else {
                spill(adding: instance)
                return
            }
            let n = header &>> 32 & 3
            let id0 = UInt16(truncatingIfNeeded: header)
            var h = header
            var v = values
            if n == 0 || instance.id == id0 {
                (h, v) = Self.setting(0, instance.id, kind, bits, h, v)
                if n == 0 { h |= 1 &<< 32 }
            } else if n == 1 {
                if instance.id < id0 {
                    // Slot 0 moves to slot 1.
                    (h, v) = Self.setting(1, id0, h &>> 34 & 7, v & 0xFFFF_FFFF, h, v)
                    (h, v) = Self.setting(0, instance.id, kind, bits, h, v)
                } else {
                    (h, v) = Self.setting(1, instance.id, kind, bits, h, v)
                }
                h = h & ~(3 &<< 32) | 2 &<< 32
            } else if instance.id == UInt16(truncatingIfNeeded: header &>> 16) {
                (h, v) = Self.setting(1, instance.id, kind, bits, h, v)
            } else {
                spill(adding: instance)
                return
            }
            storage = .inline(header: h, values: v)
        case .spilled(var instances):
            storage = .inline(header: 0, values: 0)  // leaves the array uniquely referenced: no copy on insert
            Self.insert(instance, into: &instances)
            storage = .spilled(instances)
        }
    }

    /// Moves the inline instances and `instance` to an array.
    @usableFromInline mutating func spill(adding instance: LwM2MResourceInstance) {
        var instances: [LwM2MResourceInstance] = []
        instances.reserveCapacity(4)
        instances.append(contentsOf: self)
        Self.insert(instance, into: &instances)
        storage = .spilled(instances)
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
        switch storage {
        case .inline:
            var instances: [LwM2MResourceInstance] = []
            instances.reserveCapacity(count)
            instances.append(contentsOf: self)
            storage = .spilled(instances)
        case .spilled(var instances):
            storage = .inline(header: 0, values: 0)
            instances.reserveCapacity(count)
            storage = .spilled(instances)
        }
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

/// Up to two inline instances of an ``LwM2MResourceInstances``, in their packed form (slots `0..<count`, in ID
/// order): each an ID, a kind and 32 bits of value. Reading them builds no ``LwM2MValue``.
@usableFromInline
package struct LwM2MPackedInstances {
    /// The kind of a packed value and how its 32 bits hold it.
    @usableFromInline
    package enum Kind: UInt8 {
        /// ``LwM2MValue/integer(_:)``: an `Int32` bit pattern.
        case integer = 0
        /// ``LwM2MValue/unsignedInteger(_:)``: a `UInt32`.
        case unsignedInteger = 1
        /// ``LwM2MValue/float(_:)``: a `Float` bit pattern (the `Double` is exact in single precision).
        case float = 2
        /// ``LwM2MValue/boolean(_:)``: 0 or 1.
        case boolean = 3
        /// ``LwM2MValue/time(_:)``: an `Int32` bit pattern.
        case time = 4
        /// ``LwM2MValue/objectLink(_:)``: the object ID in the high 16 bits, the instance ID in the low ones.
        case objectLink = 5
    }

    @usableFromInline let header: UInt64
    @usableFromInline let values: UInt64

    @inlinable @inline(__always)
    init(header: UInt64, values: UInt64) {
        self.header = header
        self.values = values
    }

    /// The number of instances (0-2).
    @inlinable @inline(__always)
    package var count: Int { Int(truncatingIfNeeded: header &>> 32 & 3) }

    /// The ID of slot `k` (0 or 1).
    @inlinable @inline(__always)
    package func id(_ k: Int) -> UInt16 { UInt16(truncatingIfNeeded: header &>> (16 &* UInt64(k))) }

    /// The kind of slot `k`'s value.
    @inlinable @inline(__always)
    package func kind(_ k: Int) -> Kind {
        switch header &>> (34 &+ 3 &* UInt64(k)) & 7 {
        case 0: return .integer
        case 1: return .unsignedInteger
        case 2: return .float
        case 3: return .boolean
        case 4: return .time
        default: return .objectLink
        }
    }

    /// The 32 bits of slot `k`'s value.
    @inlinable @inline(__always)
    package func bits(_ k: Int) -> UInt32 { UInt32(truncatingIfNeeded: values &>> (32 &* UInt64(k))) }

    /// Slot `k`'s integer or time, sign-extended.
    @inlinable @inline(__always)
    package func signed(_ k: Int) -> Int64 { Int64(Int32(bitPattern: bits(k))) }

    /// Slot `k`'s float, as the `Double` it was stored from.
    @inlinable @inline(__always)
    package func double(_ k: Int) -> Double { Double(Float(bitPattern: bits(k))) }

    /// Slot `k`'s object link.
    @inlinable @inline(__always)
    package func objectLink(_ k: Int) -> LwM2MObjectLink {
        let b = bits(k)
        return LwM2MObjectLink(objectID: UInt16(truncatingIfNeeded: b >> 16), instanceID: UInt16(truncatingIfNeeded: b))
    }

    /// Slot `k`'s value, built (the slow path, for writers with no packed case).
    @inlinable @inline(__always)
    package func value(_ k: Int) -> LwM2MValue {
        LwM2MResourceInstances.unpacked(header &>> (34 &+ 3 &* UInt64(k)) & 7, UInt64(bits(k)))
    }
}
