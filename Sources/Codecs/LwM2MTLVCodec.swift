public import LwM2MModel

/// The OMA TLV content format (11542, LwM2M 1.0 legacy 1542), Core TS 1.0.2 section 6.4.3 / 1.1 section 7.4.3.
///
/// Each element is a type byte, an 8- or 16-bit identifier, a 0/8/16/24-bit length and the value:
///
/// | type bits 7-6 | element |
/// |---|---|
/// | `00` | object instance (holds resources) |
/// | `01` | resource instance (inside a multiple resource) |
/// | `10` | multiple resource (holds resource instances) |
/// | `11` | resource with value |
///
/// A payload for `/o` is a list of object instances; for `/o/i` the instance's resources (an enclosing object
/// instance element with the same ID is accepted on decode); for `/o/i/r` one resource element (bare resource
/// instances are accepted on decode for a multiple resource); for `/o/i/r/ri` one resource instance element.
/// The root `/` cannot be carried.
///
/// Values: integers and Time in the shortest of 1, 2, 4 or 8 bytes (two's complement), unsigned integers in
/// the shortest of 1, 2, 4 or 8 bytes, floats in 4 bytes when exact else 8, booleans in 1 byte, object links
/// in 4 bytes, strings and Corelnk as UTF-8, opaque as is. TLV carries no types: the decoder types values from
/// the definitions; a resource with no definition keeps its raw bytes as ``LwM2MValue/opaque(_:)`` and is
/// listed in ``LwM2MDecodedNode/untypedPaths``.
///
/// Decoding is strict: truncated elements, bytes after the element(s) the path allows, wrong nesting (e.g. a
/// resource inside a resource instance), duplicate IDs, identifiers not matching the path and values of the
/// wrong width (a 3-byte integer, a 2-byte float) are errors carrying the byte offset of the element at fault.
public enum LwM2MTLVCodec {
    /// The largest value length TLV can express (24-bit length field).
    public static let maxValueLength = 0xFF_FFFF

    // Element kinds (type byte bits 7-6).
    @usableFromInline static let kindObjectInstance: UInt8 = 0
    @usableFromInline static let kindResourceInstance: UInt8 = 1
    @usableFromInline static let kindMultipleResource: UInt8 = 2
    @usableFromInline static let kindResource: UInt8 = 3

    // MARK: - Encoding

    /// Appends the TLV encoding of `node`, which sits at `path`, to `out`.
    ///
    /// `path` must name the node (e.g. `/3/0` for object instance 0 of object 3): a mismatch is `invalidPath`,
    /// a node at `/` is `notAcceptable`, a value longer than 16 MiB is `limitExceeded`. On error `out` is left
    /// as it was. The encoder measures the payload first, grows `out` once and writes through a raw pointer,
    /// so it allocates nothing when `out` already has the capacity. Both passes read the tree in place
    /// (through buffer pointers), so no value is copied or retained.
    @inlinable
    public static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) {
        try checkPath(node, path)
        // The size pass: exact, and the longest length field any element needs (checked once at the end).
        var longest = 0
        let total: Int
        switch node {
        case .object(let object):
            total = object.instances.withUnsafeBufferPointer { instances in
                var sum = 0
                for k in 0..<instances.count {
                    let body = resourcesSize(instances[k].resources, &longest)
                    longest = max(longest, body)
                    sum &+= headerSize(id: instances[k].id, length: body)
                }
                return sum
            }
        case .objectInstance(let instance):
            total = resourcesSize(instance.resources, &longest)
        case .resource(let resource):
            total = resourceSize(resource, &longest)
        case .resourceInstance(let ri):
            let length = valueSize(ri.value)
            longest = length
            total = headerSize(id: ri.id, length: length)
        }
        guard longest <= maxValueLength else {
            throw LwM2MCodecError(code: .limitExceeded, reason: "TLV value of \(longest) bytes exceeds 24-bit length")
        }
        guard total > 0 else { return }
        if total <= 1024 {
            // Small payloads (a Device instance is ~120 bytes): write on the stack, then append once. This skips
            // zero-filling the output before overwriting it.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { buffer in
                let base = buffer.baseAddress.unsafelyUnwrapped
                var w = RawWriter(UnsafeMutableRawPointer(base))
                write(node, &w)
                assert(w.p == UnsafeMutableRawPointer(base) + total, "TLV size and write passes disagree")
                out.append(contentsOf: UnsafeBufferPointer(start: base, count: total))
            }
            return
        }
        let start = out.count
        out.reserveCapacity(start + total)
        growZeroed(&out, by: total)
        out.withUnsafeMutableBytes { raw in
            var w = RawWriter(raw.baseAddress.unsafelyUnwrapped + start)
            write(node, &w)
            assert(w.p == raw.baseAddress! + start + total, "TLV size and write passes disagree")
        }
    }

    /// The write pass: `node`'s elements through `w`, into exactly the bytes the size pass counted.
    @inlinable @inline(__always)
    static func write(_ node: LwM2MNode, _ w: inout RawWriter) {
        switch node {
        case .object(let object):
            object.instances.withUnsafeBufferPointer { instances in
                for k in 0..<instances.count {
                    var ignored = 0
                    let body = resourcesSize(instances[k].resources, &ignored)
                    writeHeader(kindObjectInstance, instances[k].id, body, &w)
                    writeResources(instances[k].resources, &w)
                }
            }
        case .objectInstance(let instance):
            writeResources(instance.resources, &w)
        case .resource(let resource):
            writeResource(resource, &w)
        case .resourceInstance(let ri):
            writeElement(kindResourceInstance, ri.id, ri.value, &w)
        }
    }

    @usableFromInline
    static let zeros = [UInt8](repeating: 0, count: 1024)

    /// Appends `n` zero bytes with memory copies (much cheaper than a generic repeated-element append).
    @inlinable
    static func growZeroed(_ out: inout [UInt8], by n: Int) {
        var left = n
        zeros.withUnsafeBufferPointer { z in
            while left > 0 {
                let k = min(left, z.count)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: z[0..<k]))
                left -= k
            }
        }
    }

    /// The TLV encoding of `node` at `path` in a new array.
    @inlinable
    public static func encode(_ node: LwM2MNode, at path: LwM2MPath) throws(LwM2MCodecError) -> [UInt8] {
        var out: [UInt8] = []
        try encode(node, at: path, into: &out)
        return out
    }

    @inlinable
    static func checkPath(_ node: LwM2MNode, _ path: LwM2MPath) throws(LwM2MCodecError) {
        let ok: Bool
        switch node {
        case .object(let o): ok = path.depth == 1 && path.objectID == o.id
        case .objectInstance(let i): ok = path.depth == 2 && path.instanceID == i.id
        case .resource(let r): ok = path.depth == 3 && path.resourceID == r.id
        case .resourceInstance(let ri): ok = path.depth == 4 && path.resourceInstanceID == ri.id
        }
        guard ok else {
            if path.depth == 0 {
                throw LwM2MCodecError(code: .notAcceptable, reason: "TLV cannot carry the root path", path: path)
            }
            throw LwM2MCodecError(code: .invalidPath, reason: "\(path) does not name this \(node.level) node", path: path)
        }
    }

    /// The size of a whole element (header and value) whose value has `length` bytes.
    @inlinable @inline(__always)
    static func headerSize(id: UInt16, length: Int) -> Int {
        let idBytes = id > 0xFF ? 2 : 1
        let lengthBytes = length < 8 ? 0 : length <= 0xFF ? 1 : length <= 0xFFFF ? 2 : 3
        return 1 &+ idBytes &+ lengthBytes &+ length
    }

    /// The encoded size of `resources` (whole elements), raising `longest` to the longest value or body.
    @inlinable
    static func resourcesSize(_ resources: [LwM2MResource], _ longest: inout Int) -> Int {
        resources.withUnsafeBufferPointer { rs in
            // Multiple resources held in arrays are measured after the loop, out of line: with a call in the loop
            // the optimizer copied every resource's `Content` and destroyed the copy through an outlined call.
            var total = 0
            var spilled = false
            for k in 0..<rs.count {
                let size = inlineResourceSize(rs[k], &longest)
                if size < 0 { spilled = true } else { total &+= size }
            }
            if spilled { total &+= spilledResourcesSize(rs, &longest) }
            return total
        }
    }

    /// `resourceSize` of a single resource or one whose instances are inline; -1 (nothing measured) for a
    /// multiple resource whose instances are in an array.
    @inlinable @inline(__always)
    static func inlineResourceSize(_ resource: borrowing LwM2MResource, _ longest: inout Int) -> Int {
        let length: Int
        switch resource.content {
        case .single(let v):
            length = valueSize(v)
        case .multiple(let instances):
            guard let packed = instances.packed else { return -1 }
            length = packedInstancesSize(packed, &longest)
        }
        longest = max(longest, length)
        return headerSize(id: resource.id, length: length)
    }

    /// The sizes of the resources `inlineResourceSize` left out, raising `longest`.
    @usableFromInline @inline(never)
    static func spilledResourcesSize(_ rs: UnsafeBufferPointer<LwM2MResource>, _ longest: inout Int) -> Int {
        var total = 0
        for k in 0..<rs.count {
            guard case .multiple(let instances) = rs[k].content, instances.packed == nil else { continue }
            total &+= resourceSize(rs[k], &longest)
        }
        return total
    }

    /// The encoded size of inline instances (whole elements), raising `longest` to the longest value.
    @inlinable @inline(__always)
    static func packedInstancesSize(_ packed: LwM2MPackedInstances, _ longest: inout Int) -> Int {
        var total = 0
        for k in 0..<packed.count {
            let length = packedSize(packed, k)
            longest = max(longest, length)
            total &+= headerSize(id: packed.id(k), length: length)
        }
        return total
    }

    /// The encoded size of one resource element, raising `longest` to its longest value or body.
    @inlinable @inline(__always)
    static func resourceSize(_ resource: borrowing LwM2MResource, _ longest: inout Int) -> Int {
        let length: Int
        switch resource.content {
        case .single(let v):
            length = valueSize(v)
        case .multiple(let instances):
            length = instancesSize(instances, &longest)
        }
        longest = max(longest, length)
        return headerSize(id: resource.id, length: length)
    }

    /// The encoded size of a multiple resource's instances, raising `longest` to the longest value.
    @inlinable @inline(__always)
    static func instancesSize(_ instances: borrowing LwM2MResourceInstances, _ longest: inout Int) -> Int {
        if let packed = instances.packed { return packedInstancesSize(packed, &longest) }
        var total = 0
        for k in 0..<instances.count {
            let instance = instances[k]
            let length = valueSize(instance.value)
            longest = max(longest, length)
            total &+= headerSize(id: instance.id, length: length)
        }
        return total
    }

    /// Bytes needed for a signed integer: 1, 2, 4 or 8.
    @inlinable @inline(__always)
    static func intWidth(_ v: Int64) -> Int {
        if v >= -0x80 && v <= 0x7F { return 1 }
        if v >= -0x8000 && v <= 0x7FFF { return 2 }
        if v >= -0x8000_0000 && v <= 0x7FFF_FFFF { return 4 }
        return 8
    }

    /// Bytes needed for an unsigned integer: 1, 2, 4 or 8.
    @inlinable @inline(__always)
    static func uintWidth(_ v: UInt64) -> Int {
        if v <= 0xFF { return 1 }
        if v <= 0xFFFF { return 2 }
        if v <= 0xFFFF_FFFF { return 4 }
        return 8
    }

    @inlinable @inline(__always)
    static func floatIsExactInSingle(_ d: Double) -> Bool {
        Double(Float(d)) == d
    }

    /// The size of inline slot `k`'s value (as `valueSize` of its unpacked value).
    @inlinable @inline(__always)
    static func packedSize(_ packed: LwM2MPackedInstances, _ k: Int) -> Int {
        switch packed.kind(k) {
        case .integer, .time: return intWidth(packed.signed(k))
        case .unsignedInteger: return uintWidth(UInt64(packed.bits(k)))
        case .float: return floatIsExactInSingle(packed.double(k)) ? 4 : 8
        case .boolean: return 1
        case .objectLink: return 4
        }
    }

    /// Writes inline slot `k` as an element (as `writeElement` of its unpacked value).
    @inlinable @inline(__always)
    static func writePacked(_ kind: UInt8, _ packed: LwM2MPackedInstances, _ k: Int, _ w: inout RawWriter) {
        let id = packed.id(k)
        switch packed.kind(k) {
        case .integer, .time:
            let v = packed.signed(k)
            let width = intWidth(v)
            writeHeader(kind, id, width, &w)
            w.bigEndian(UInt64(bitPattern: v), width: width)
        case .unsignedInteger:
            let v = UInt64(packed.bits(k))
            let width = uintWidth(v)
            writeHeader(kind, id, width, &w)
            w.bigEndian(v, width: width)
        case .float:
            let d = packed.double(k)
            if floatIsExactInSingle(d) {
                writeHeader(kind, id, 4, &w)
                w.bigEndian(UInt64(Float(d).bitPattern), width: 4)
            } else {  // a NaN: 8 bytes, as `writeElement` writes it
                writeHeader(kind, id, 8, &w)
                w.bigEndian(d.bitPattern, width: 8)
            }
        case .boolean:
            writeHeader(kind, id, 1, &w)
            w.byte(packed.bits(k) != 0 ? 1 : 0)
        case .objectLink:
            writeHeader(kind, id, 4, &w)
            w.bigEndian(UInt64(packed.bits(k)), width: 4)
        }
    }

    @inlinable @inline(__always)
    static func valueSize(_ value: borrowing LwM2MValue) -> Int {
        switch value {
        case .integer(let v), .time(let v): return intWidth(v)
        case .unsignedInteger(let v): return uintWidth(v)
        case .float(let d): return floatIsExactInSingle(d) ? 4 : 8
        case .boolean: return 1
        case .objectLink: return 4
        case .string(let s), .coreLink(let s): return s.utf8.count
        case .opaque(let b): return b.count
        }
    }

    /// Writes `resources` as elements. A single resource's element is written here, so that it does not pay for
    /// the frame a multiple resource's loops need.
    @inlinable
    static func writeResources(_ resources: [LwM2MResource], _ w: inout RawWriter) {
        resources.withUnsafeBufferPointer { rs in
            for k in 0..<rs.count {
                // The call for instances in an array comes after the switch, outside its read of the resource
                // (see `resourcesSize`).
                var spilled = false
                switch rs[k].content {
                case .single(let v):
                    writeElement(kindResource, rs[k].id, v, &w)
                case .multiple(let instances):
                    if let packed = instances.packed {
                        writePackedResource(rs[k].id, packed, &w)
                    } else {
                        spilled = true
                    }
                }
                if spilled { writeMultiple(rs[k], &w) }
            }
        }
    }

    /// Writes a multiple resource whose instances are inline: its header, then an element per instance.
    @inlinable @inline(__always)
    static func writePackedResource(_ id: UInt16, _ packed: LwM2MPackedInstances, _ w: inout RawWriter) {
        let n = packed.count
        var body = 0
        for k in 0..<n { body &+= headerSize(id: packed.id(k), length: packedSize(packed, k)) }
        writeHeader(kindMultipleResource, id, body, &w)
        for k in 0..<n { writePacked(kindResourceInstance, packed, k, &w) }
    }

    @inlinable
    static func writeResource(_ resource: borrowing LwM2MResource, _ w: inout RawWriter) {
        switch resource.content {
        case .single(let v): writeElement(kindResource, resource.id, v, &w)
        case .multiple: writeMultiple(resource, &w)
        }
    }

    /// Writes a multiple resource: its header, then an element per instance (nothing for a single resource).
    @usableFromInline @inline(never)
    static func writeMultiple(_ resource: borrowing LwM2MResource, _ w: inout RawWriter) {
        switch resource.content {
        case .single:
            return
        case .multiple(let instances):
            if let packed = instances.packed {
                writePackedResource(resource.id, packed, &w)
                return
            }
            let n = instances.count
            var body = 0
            for k in 0..<n {
                let instance = instances[k]
                body &+= headerSize(id: instance.id, length: valueSize(instance.value))
            }
            writeHeader(kindMultipleResource, resource.id, body, &w)
            for k in 0..<n {
                let instance = instances[k]
                writeElement(kindResourceInstance, instance.id, instance.value, &w)
            }
        }
    }

    /// Writes a type byte, identifier and length field (the length was checked by the size pass).
    @inlinable @inline(__always)
    static func writeHeader(_ kind: UInt8, _ id: UInt16, _ length: Int, _ w: inout RawWriter) {
        var type = kind << 6
        if id > 0xFF { type |= 0x20 }
        if length < 8 {
            type |= UInt8(truncatingIfNeeded: length)
        } else if length <= 0xFF {
            type |= 0x08
        } else if length <= 0xFFFF {
            type |= 0x10
        } else {
            type |= 0x18
        }
        w.byte(type)
        if id > 0xFF { w.byte(UInt8(truncatingIfNeeded: id >> 8)) }
        w.byte(UInt8(truncatingIfNeeded: id))
        if length >= 8 {
            if length > 0xFFFF { w.byte(UInt8(truncatingIfNeeded: length >> 16)) }
            if length > 0xFF { w.byte(UInt8(truncatingIfNeeded: length >> 8)) }
            w.byte(UInt8(truncatingIfNeeded: length))
        }
    }

    @inlinable
    static func writeElement(_ kind: UInt8, _ id: UInt16, _ value: borrowing LwM2MValue, _ w: inout RawWriter) {
        switch value {
        case .integer(let v), .time(let v):
            let width = intWidth(v)
            writeHeader(kind, id, width, &w)
            w.bigEndian(UInt64(bitPattern: v), width: width)
        case .unsignedInteger(let v):
            let width = uintWidth(v)
            writeHeader(kind, id, width, &w)
            w.bigEndian(v, width: width)
        case .float(let d):
            if floatIsExactInSingle(d) {
                writeHeader(kind, id, 4, &w)
                w.bigEndian(UInt64(Float(d).bitPattern), width: 4)
            } else {
                writeHeader(kind, id, 8, &w)
                w.bigEndian(d.bitPattern, width: 8)
            }
        case .boolean(let b):
            writeHeader(kind, id, 1, &w)
            w.byte(b ? 1 : 0)
        case .objectLink(let link):
            writeHeader(kind, id, 4, &w)
            w.bigEndian(UInt64(link.objectID) << 16 | UInt64(link.instanceID), width: 4)
        case .string(let s), .coreLink(let s):
            writeHeader(kind, id, s.utf8.count, &w)
            w.utf8(s)
        case .opaque(let bytes):
            writeHeader(kind, id, bytes.count, &w)
            bytes.withUnsafeBytes { w.bytes($0) }
        }
    }

    // MARK: - Decoding

    /// Decodes a TLV payload for the node at `path`, typing values by `definitions`.
    ///
    /// Resources with no definition keep their raw bytes as opaque values (see ``decodeReportingUntyped(_:at:definitions:)``
    /// to learn which).
    @inlinable
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> LwM2MNode {
        return try TLVDecoder(bytes, path: path, definitions: definitions).decode()
    }

    /// Decodes with the resource types of the path's object already looked up (the facade's registry fast path).
    ///
    /// Not inlined, and `table` consumed: inlined into the facade, the decoder was copied (a retain and two
    /// releases of its table and untyped list) on its way into ``TLVDecoder/decode()``.
    @usableFromInline @inline(never)
    static func decode(_ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, table: consuming LwM2MResourceTypeTable?)
        throws(LwM2MCodecError) -> LwM2MNode
    {
        return try TLVDecoder(bytes, path: path, table: table).decode()
    }

    /// Decodes like ``decode(_:at:table:)`` into the arrays of `storage` (the facade's decode into a node).
    @inlinable
    static func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, table: LwM2MResourceTypeTable?,
        reusing storage: inout LwM2MNodeStorage
    ) throws(LwM2MCodecError) -> LwM2MNode {
        var decoder = TLVDecoder(bytes, path: path, table: table)
        return try decoder.decode(reusing: &storage)
    }

    /// Decodes a TLV payload held in an array.
    @inlinable
    public static func decode(_ bytes: [UInt8], at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> LwM2MNode
    {
        try withRawBytes(bytes) { (raw) throws(LwM2MCodecError) in try decode(raw, at: path, definitions: definitions) }
    }

    /// Decodes like ``decode(_:at:definitions:)-(UnsafeRawBufferPointer,_,_)`` and also lists the resources that
    /// had no definition and so were kept as raw opaque bytes.
    public static func decodeReportingUntyped(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?
    ) throws(LwM2MCodecError) -> LwM2MDecodedNode {
        var storage = LwM2MNodeStorage()
        return try decodeReportingUntyped(bytes, at: path, definitions: definitions, reusing: &storage)
    }

    /// Decodes like ``decodeReportingUntyped(_:at:definitions:)`` into the arrays of `storage`.
    static func decodeReportingUntyped(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?,
        reusing storage: inout LwM2MNodeStorage
    ) throws(LwM2MCodecError) -> LwM2MDecodedNode {
        var decoder = TLVDecoder(bytes, path: path, definitions: definitions)
        let node = try decoder.decode(reusing: &storage)
        return LwM2MDecodedNode(node: node, untypedPaths: decoder.untyped)
    }
}

/// A decoded node with the paths whose values had no definition and were kept in their raw form.
public struct LwM2MDecodedNode: Hashable, Sendable {
    /// The decoded node.
    public var node: LwM2MNode
    /// Resources (or resource instances) whose type was unknown, so their value is untyped: raw bytes
    /// (``LwM2MValue/opaque(_:)``) from TLV, the text (``LwM2MValue/string(_:)``) from text/plain.
    public var untypedPaths: [LwM2MPath]

    /// Creates a decoded node.
    public init(node: LwM2MNode, untypedPaths: [LwM2MPath]) {
        self.node = node
        self.untypedPaths = untypedPaths
    }
}

/// A cursor writing into memory the encoder sized beforehand.
@usableFromInline
struct RawWriter {
    @usableFromInline var p: UnsafeMutableRawPointer

    @inlinable
    init(_ p: UnsafeMutableRawPointer) { self.p = p }

    @inlinable @inline(__always)
    mutating func byte(_ b: UInt8) {
        p.storeBytes(of: b, as: UInt8.self)
        p += 1
    }

    @inlinable @inline(__always)
    mutating func bigEndian(_ v: UInt64, width: Int) {
        switch width {
        case 1:
            p.storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self)
        case 2:
            p.storeBytes(of: UInt16(truncatingIfNeeded: v).bigEndian, as: UInt16.self)
        case 4:
            p.storeBytes(of: UInt32(truncatingIfNeeded: v).bigEndian, as: UInt32.self)
        default:
            p.storeBytes(of: v.bigEndian, as: UInt64.self)
        }
        p += width
    }

    @inlinable @inline(__always)
    mutating func bytes(_ src: UnsafeRawBufferPointer) {
        guard let base = src.baseAddress, src.count > 0 else { return }
        p.copyMemory(from: base, byteCount: src.count)
        p += src.count
    }

    /// Writes the UTF-8 of `s`. Inlined: an opaque call here would make the encoder retain every string it
    /// writes (it could no longer prove the string stays alive across the call).
    @inlinable @inline(__always)
    mutating func utf8(_ s: String) {
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { bytes(UnsafeRawBufferPointer($0)) }
        if done == nil {
            for c in s.utf8 { byte(c) }
        }
    }
}

/// One TLV element header: kind, identifier and the value's byte range.
@usableFromInline
struct TLVHeader {
    @usableFromInline var kind: UInt8
    @usableFromInline var id: UInt16
    @usableFromInline var valueStart: Int
    @usableFromInline var valueEnd: Int

    @inlinable
    init(kind: UInt8, id: UInt16, valueStart: Int, valueEnd: Int) {
        self.kind = kind
        self.id = id
        self.valueStart = valueStart
        self.valueEnd = valueEnd
    }
}

/// The decoding state: the payload, the definitions of the path's object and the untyped paths seen.
///
/// Noncopyable: a copy retains the table and the untyped list and releases them twice (the optimizer left such
/// a copy on the way into ``decode()``); moved instead, each is released once.
@usableFromInline
struct TLVDecoder: ~Copyable {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline let path: LwM2MPath
    /// The resource types of the path's object (for ``LwM2MRegistry`` a slice of its index: nothing copied).
    @usableFromInline var table: LwM2MResourceTypeTable?
    @usableFromInline var untyped: [LwM2MPath] = []

    @inlinable
    init(_ bytes: UnsafeRawBufferPointer, path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?) {
        self.init(bytes, path: path, table: path.objectID.flatMap { definitions?.resourceTypeTable(objectID: $0) })
    }

    @inlinable
    init(_ bytes: UnsafeRawBufferPointer, path: LwM2MPath, table: LwM2MResourceTypeTable?) {
        self.bytes = bytes
        self.path = path
        self.table = table
    }

    @inline(never) @usableFromInline
    func error(_ code: LwM2MCodecError.Code, _ reason: String, _ offset: Int) -> LwM2MCodecError {
        LwM2MCodecError(code: code, reason: reason, offset: offset, path: path)
    }

    /// Reads the element header at `p`, whose value must end by `end`.
    @inlinable
    @inline(__always)
    func header(at p: Int, end: Int) throws(LwM2MCodecError) -> TLVHeader {
        guard let h = peekHeader(at: p, end: end) else { throw headerError(at: p, end: end) }
        return h
    }

    /// The header at `p` when it is well-formed and its value fits by `end`; `nil` otherwise.
    @inlinable @inline(__always)
    func peekHeader(at p: Int, end: Int) -> TLVHeader? {
        let base = bytes.baseAddress.unsafelyUnwrapped
        let type = base.load(fromByteOffset: p, as: UInt8.self)
        var q = p + 1
        let wideID = type & 0x20 != 0
        let lengthType = Int(type >> 3 & 0x03)
        guard q + (wideID ? 2 : 1) + lengthType <= end else { return nil }
        var id = UInt16(base.load(fromByteOffset: q, as: UInt8.self))
        if wideID {
            id = id << 8 | UInt16(base.load(fromByteOffset: q + 1, as: UInt8.self))
            q += 2
            guard id != 0xFFFF else { return nil }
        } else {
            q += 1
        }
        var length = Int(type & 0x07)
        if lengthType != 0 {
            length = 0
            for _ in 0..<lengthType {
                length = length << 8 | Int(base.load(fromByteOffset: q, as: UInt8.self))
                q += 1
            }
        }
        guard length <= end - q else { return nil }
        return TLVHeader(kind: type >> 6, id: id, valueStart: q, valueEnd: q + length)
    }

    /// Why the header at `p` does not parse (the cold path of ``header(at:end:)``).
    @inline(never) @usableFromInline
    func headerError(at p: Int, end: Int) -> LwM2MCodecError {
        let type = bytes[p]
        let idBytes = type & 0x20 != 0 ? 2 : 1
        let lengthType = Int(type >> 3 & 0x03)
        if p + 1 + idBytes + lengthType > end { return error(.truncated, "TLV header is cut short", p) }
        if idBytes == 2 && bytes[p + 1] == 0xFF && bytes[p + 2] == 0xFF {
            return error(.invalidPath, "identifier 65535 is reserved", p)
        }
        return error(.truncated, "TLV value runs past its container", p)
    }

    /// The number of elements in `start..<end`, checking every header (a lean skip over the headers).
    @inlinable @inline(__always)
    func count(from start: Int, to end: Int) throws(LwM2MCodecError) -> Int {
        let base = bytes.baseAddress.unsafelyUnwrapped
        var p = start
        var n = 0
        while p < end {
            let type = base.load(fromByteOffset: p, as: UInt8.self)
            let lengthType = Int(type >> 3 & 0x03)
            var q = p &+ 2 &+ Int(type >> 5 & 0x01)
            guard q &+ lengthType <= end else { throw headerError(at: p, end: end) }
            if type & 0x20 != 0 && base.loadUnaligned(fromByteOffset: p &+ 1, as: UInt16.self) == 0xFFFF {
                throw headerError(at: p, end: end)
            }
            var length = Int(type & 0x07)
            if lengthType != 0 {
                length = 0
                for _ in 0..<lengthType {
                    length = length &<< 8 | Int(base.load(fromByteOffset: q, as: UInt8.self))
                    q &+= 1
                }
            }
            guard length <= end &- q else { throw headerError(at: p, end: end) }
            p = q &+ length
            n &+= 1
        }
        return n
    }

    /// The type and multiplicity of resource `id` of the path's object, if defined (and not executable).
    @inlinable @inline(__always)
    mutating func resourceInfo(_ id: UInt16) -> (type: LwM2MResourceType, isMultiple: Bool)? {
        table?.info(id)
    }

    /// The node of the whole payload. Consuming: the decoder is moved in, not copied (a copy retains the table
    /// and the untyped list, and releases them twice).
    @inlinable
    consuming func decode() throws(LwM2MCodecError) -> LwM2MNode {
        if path.level == .objectInstance {
            // The common case without a storage to set up and release.
            var resources: [LwM2MResource] = []
            return .objectInstance(try decodeInstanceAtPath(into: &resources))
        }
        var storage = LwM2MNodeStorage()
        return try decode(reusing: &storage)
    }

    /// The node, its arrays taken from `storage` (refilled in place when uniquely held).
    @inlinable @inline(never)
    mutating func decode(reusing storage: inout LwM2MNodeStorage) throws(LwM2MCodecError) -> LwM2MNode {
        let end = bytes.count
        switch path.level {
        case .root:
            throw LwM2MCodecError(code: .notAcceptable, reason: "TLV cannot carry the root path", path: path)
        case .object:
            return .object(try decodeObject(path.objectID!, from: 0, to: end, reusing: &storage))
        case .objectInstance:
            return .objectInstance(try decodeInstanceAtPath(into: &storage.resources))
        case .resource:
            return .resource(try decodeResourceAtPath(from: 0, to: end))
        case .resourceInstance:
            guard end > 0 else { throw error(.truncated, "empty payload for \(path)", 0) }
            let h = try header(at: 0, end: end)
            guard h.kind == LwM2MTLVCodec.kindResourceInstance else {
                throw error(.malformed, "expected a resource instance element", 0)
            }
            guard h.id == path.resourceInstanceID! else {
                throw error(.invalidPath, "resource instance \(h.id) in a payload for \(path)", 0)
            }
            guard h.valueEnd == end else { throw error(.trailingBytes, "bytes after the resource instance", h.valueEnd) }
            let info = resourceInfo(path.resourceID!)
            if info?.isMultiple == false {
                throw error(.typeMismatch, "\(path.parent!) is a single resource", 0)
            }
            let value = try decodeValue(h, info?.type, at: path)
            return .resourceInstance(LwM2MResourceInstance(id: h.id, value: value))
        }
    }

    /// The payload for an object instance path: its resources, or one enclosing object instance element with the
    /// path's ID holding them.
    @inlinable @inline(__always)
    mutating func decodeInstanceAtPath(into resources: inout [LwM2MResource]) throws(LwM2MCodecError)
        -> LwM2MObjectInstance
    {
        let end = bytes.count
        let iid = path.instanceID!
        if end > 0 && bytes[0] >> 6 == LwM2MTLVCodec.kindObjectInstance {
            // An enclosing object instance element: exactly one, with the path's ID.
            let h = try header(at: 0, end: end)
            guard h.id == iid else {
                throw error(.invalidPath, "object instance \(h.id) in a payload for \(path)", 0)
            }
            guard h.valueEnd == end else {
                throw error(.trailingBytes, "bytes after the object instance", h.valueEnd)
            }
            return try decodeInstance(iid, from: h.valueStart, to: h.valueEnd, into: &resources)
        }
        return try decodeInstance(iid, from: 0, to: end, into: &resources)
    }

    /// The object `oid` in `start..<end`, its instances and their resources refilling the arrays in `storage`.
    @inlinable
    mutating func decodeObject(_ oid: UInt16, from start: Int, to end: Int, reusing storage: inout LwM2MNodeStorage)
        throws(LwM2MCodecError) -> LwM2MObject
    {
        // One allocation of the exact size (Array(unsafeUninitializedCapacity:) would be cheaper per element, but
        // its allocation goes through an unspecialized generic in the standard library: a metadata lookup each);
        // none when the reused array has room.
        storage.instances.reserveCapacity(try count(from: start, to: end))
        var ordered = true
        var p = start
        var lastID = -1
        var k = 0
        while p < end {
            let h = try header(at: p, end: end)
            guard h.kind == LwM2MTLVCodec.kindObjectInstance else {
                throw error(.malformed, "expected an object instance element in an object", p)
            }
            if Int(h.id) <= lastID {
                if Int(h.id) == lastID { throw duplicate("object instance", h.id, p) }
                ordered = false
            }
            lastID = Int(h.id)
            var resources = storage.resources(forInstance: k)
            let instance = try decodeInstance(h.id, from: h.valueStart, to: h.valueEnd, into: &resources)
            storage.setInstance(instance, at: k)
            k &+= 1
            p = h.valueEnd
        }
        let instances = storage.takeInstances(count: k)
        var object = LwM2MObject(id: oid, instances: [])
        object.instances = ordered ? instances : try sortedUnique(instances, by: \.id, "object instance", start)
        return object
    }

    /// The object instance `iid` in `start..<end`, its resources appended to `resources` (empty; its capacity is
    /// used) and moved out into the instance.
    @inlinable @inline(__always)
    mutating func decodeInstance(_ iid: UInt16, from start: Int, to end: Int, into resources: inout [LwM2MResource])
        throws(LwM2MCodecError) -> LwM2MObjectInstance
    {
        let oid = path.objectID.unsafelyUnwrapped
        resources.reserveCapacity(try count(from: start, to: end))
        var ordered = true
        var p = start
        var lastID = -1
        while p < end {
            let h = try header(at: p, end: end)
            if Int(h.id) <= lastID {
                if Int(h.id) == lastID { throw duplicate("resource", h.id, p) }
                ordered = false
            }
            lastID = Int(h.id)
            resources.append(try decodeResource(h, at: p, oid, iid))
            p = h.valueEnd
        }
        var instance = LwM2MObjectInstance(id: iid, resources: [])
        swap(&instance.resources, &resources)
        if !ordered { instance.resources = try sortedUnique(instance.resources, by: \.id, "resource", start) }
        return instance
    }

    /// `elements` sorted by `id`, or `duplicatePath` when two share an identifier (the cold path: payloads list
    /// elements in ascending order).
    @inline(never) @usableFromInline
    func sortedUnique<T>(_ elements: [T], by id: (T) -> UInt16, _ what: StaticString, _ start: Int)
        throws(LwM2MCodecError) -> [T]
    {
        let sorted = elements.sorted { id($0) < id($1) }
        for k in 1..<sorted.count where id(sorted[k - 1]) == id(sorted[k]) {
            throw duplicate(what, id(sorted[k]), start)
        }
        return sorted
    }

    @inline(never) @usableFromInline
    func duplicate(_ what: StaticString, _ id: UInt16, _ p: Int) -> LwM2MCodecError {
        error(.duplicatePath, "\(what) \(id) appears twice", p)
    }

    @inline(never) @usableFromInline
    func multiplicityError(_ resourcePath: LwM2MPath, isMultiple: Bool, _ p: Int) -> LwM2MCodecError {
        return isMultiple
            ? error(.typeMismatch, "\(resourcePath) is a multiple resource but has a single value", p)
            : error(.typeMismatch, "\(resourcePath) is a single resource but has instances", p)
    }

    /// A resource element (single or multiple) found at `p` inside object instance `oid`/`iid`.
    ///
    /// Inlined (like the functions it calls) into the one loop over an instance's resources, so the decoder state
    /// is not copied for each call.
    @inlinable @inline(__always)
    mutating func decodeResource(_ h: TLVHeader, at p: Int, _ oid: UInt16, _ iid: UInt16) throws(LwM2MCodecError)
        -> LwM2MResource
    {
        let info = resourceInfo(h.id)
        switch h.kind {
        case LwM2MTLVCodec.kindResource:
            guard let info else {
                untyped.append(.resource(oid, iid, h.id))
                return LwM2MResource(id: h.id, content: .single(.opaque(raw(h))))
            }
            if info.isMultiple { throw multiplicityError(.resource(oid, iid, h.id), isMultiple: true, p) }
            return LwM2MResource(id: h.id, content: .single(try Self.decodeValue(h, info.type, in: bytes, path: path)))
        case LwM2MTLVCodec.kindMultipleResource:
            if info?.isMultiple == false { throw multiplicityError(.resource(oid, iid, h.id), isMultiple: false, p) }
            let instances = try decodeResourceInstances(
                from: h.valueStart, to: h.valueEnd, type: info?.type, at: .resource(oid, iid, h.id))
            return LwM2MResource(id: h.id, content: .multiple(instances))
        default:
            throw error(.malformed, "expected a resource element in an object instance", p)
        }
    }

    @inlinable @inline(__always)
    mutating func decodeResourceInstances(
        from start: Int, to end: Int, type: LwM2MResourceType?, at resourcePath: LwM2MPath
    ) throws(LwM2MCodecError) -> LwM2MResourceInstances {
        var instances = LwM2MResourceInstances()
        // Up to two instances are stored inline. Every element takes at least 2 bytes (type and identifier), so a
        // body of up to 9 bytes holds at most 4 (the capacity of a spilled array); longer bodies are counted for
        // an exact allocation.
        let span = end &- start
        if span > 9 { instances.reserveCapacity(try count(from: start, to: end)) }
        var ordered = true
        var p = start
        var lastID = -1
        while p < end {
            let h = try header(at: p, end: end)
            guard h.kind == LwM2MTLVCodec.kindResourceInstance else {
                throw error(.malformed, "expected a resource instance element in a multiple resource", p)
            }
            if Int(h.id) <= lastID || !ordered {
                // Out of order (the cold path): `insert` puts the instance in place, so a repeated ID is looked up.
                if Int(h.id) == lastID { throw duplicate("resource instance", h.id, p) }
                if instances[id: h.id] != nil { throw duplicate("resource instance", h.id, start) }
                ordered = false
            }
            lastID = Int(h.id)
            let value = if let type { try Self.decodeValue(h, type, in: bytes, path: path) } else { LwM2MValue.opaque(raw(h)) }
            instances.insert(LwM2MResourceInstance(id: h.id, value: value))
            p = h.valueEnd
        }
        if type == nil { untyped.append(resourcePath) }
        return instances
    }

    /// The payload for a resource path: one resource element, or bare resource instances of a multiple resource.
    @inlinable
    mutating func decodeResourceAtPath(from start: Int, to end: Int) throws(LwM2MCodecError) -> LwM2MResource {
        let rid = path.resourceID!
        let info = resourceInfo(rid)
        guard start < end else {
            if info?.isMultiple == true { return LwM2MResource(id: rid, content: .multiple([])) }
            throw error(.truncated, "empty payload for \(path)", start)
        }
        let h = try header(at: start, end: end)
        if h.kind == LwM2MTLVCodec.kindResourceInstance {
            if info?.isMultiple == false { throw error(.typeMismatch, "\(path) is a single resource", start) }
            let instances = try decodeResourceInstances(from: start, to: end, type: info?.type, at: path)
            return LwM2MResource(id: rid, content: .multiple(instances))
        }
        guard h.id == rid else { throw error(.invalidPath, "resource \(h.id) in a payload for \(path)", start) }
        guard h.valueEnd == end else { throw error(.trailingBytes, "bytes after the resource", h.valueEnd) }
        return try decodeResource(h, at: start, path.objectID!, path.instanceID!)
    }

    /// The raw value bytes of element `h`.
    @inlinable @inline(__always)
    func raw(_ h: TLVHeader) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: bytes[h.valueStart..<h.valueEnd]))
    }

    /// The value of element `h` as `type`; `nil` keeps the raw bytes (recording `path` as untyped when given).
    @inlinable
    mutating func decodeValue(_ h: TLVHeader, _ type: LwM2MResourceType?, at path: LwM2MPath?) throws(LwM2MCodecError)
        -> LwM2MValue
    {
        guard let type else {
            if let path { untyped.append(path) }
            return .opaque(raw(h))
        }
        return try Self.decodeValue(h, type, in: bytes, path: self.path)
    }

    /// The value of element `h` of `bytes` as `type`, its width checked (fixed-width types read with one big-endian
    /// load); errors name `path`.
    ///
    /// Static, so that the decoder's state is not copied for each value (it takes what it needs as arguments).
    @inlinable @inline(__always)
    static func decodeValue(_ h: TLVHeader, _ type: LwM2MResourceType, in bytes: UnsafeRawBufferPointer, path: LwM2MPath)
        throws(LwM2MCodecError) -> LwM2MValue
    {
        let s = h.valueStart
        let n = h.valueEnd &- s
        // In bounds: the header check put valueStart..<valueEnd inside the payload.
        let p = bytes.baseAddress.unsafelyUnwrapped + s
        switch type {
        case .integer, .time:
            let v: Int64
            switch n {
            case 1: v = Int64(Int8(bitPattern: p.load(as: UInt8.self)))
            case 2: v = Int64(Int16(bitPattern: UInt16(bigEndian: p.loadUnaligned(as: UInt16.self))))
            case 4: v = Int64(Int32(bitPattern: UInt32(bigEndian: p.loadUnaligned(as: UInt32.self))))
            case 8: v = Int64(bitPattern: UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)))
            default: throw widthError(type, n, s, path)
            }
            return type == .integer ? .integer(v) : .time(v)
        case .unsignedInteger:
            switch n {
            case 1: return .unsignedInteger(UInt64(p.load(as: UInt8.self)))
            case 2: return .unsignedInteger(UInt64(UInt16(bigEndian: p.loadUnaligned(as: UInt16.self))))
            case 4: return .unsignedInteger(UInt64(UInt32(bigEndian: p.loadUnaligned(as: UInt32.self))))
            case 8: return .unsignedInteger(UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)))
            default: throw widthError(type, n, s, path)
            }
        case .float:
            if n == 4 { return .float(Double(Float(bitPattern: UInt32(bigEndian: p.loadUnaligned(as: UInt32.self))))) }
            if n == 8 { return .float(Double(bitPattern: UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)))) }
            throw widthError(type, n, s, path)
        case .boolean:
            guard n == 1, p.load(as: UInt8.self) <= 1 else { throw widthError(type, n, s, path) }
            return .boolean(p.load(as: UInt8.self) == 1)
        case .objectLink:
            guard n == 4 else { throw widthError(type, n, s, path) }
            return .objectLink(
                LwM2MObjectLink(
                    objectID: UInt16(bigEndian: p.loadUnaligned(as: UInt16.self)),
                    instanceID: UInt16(bigEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self))))
        case .opaque:
            return .opaque(Array(UnsafeRawBufferPointer(start: p, count: n)))
        case .string, .coreLink, .none:
            guard let text = string(UnsafeRawBufferPointer(start: p, count: n)) else {
                throw LwM2MCodecError(
                    code: .malformed, reason: "\(type.rawValue) value is not valid UTF-8", offset: s, path: path)
            }
            return type == .coreLink ? .coreLink(text) : .string(text)
        }
    }

    /// The text of `bytes`, or `nil` when they are not valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
    /// nothing above U+10FFFF).
    ///
    /// Validated once, by `UTF8Span`, from which the string is copied without a second check (`String(decoding:)`
    /// after our own check validated twice; `String(validating:)` goes through an unspecialized generic).
    @inlinable @inline(__always)
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            do {
                return String(copying: try UTF8Span(validating: bytes.assumingMemoryBound(to: UInt8.self).span))
            } catch {
                return nil
            }
        }
        return UTF8Validation.string(bytes)
    }

    /// A value of the wrong width for `type` (the cold path of ``decodeValue(_:_:in:path:)``).
    @inline(never) @usableFromInline
    static func widthError(_ type: LwM2MResourceType, _ n: Int, _ s: Int, _ path: LwM2MPath) -> LwM2MCodecError {
        func error(_ code: LwM2MCodecError.Code, _ reason: String, _ offset: Int) -> LwM2MCodecError {
            LwM2MCodecError(code: code, reason: reason, offset: offset, path: path)
        }
        switch type {
        case .integer, .time:
            return error(.typeMismatch, "\(type.rawValue) of \(n) bytes (1, 2, 4 or 8 expected)", s)
        case .unsignedInteger:
            return error(.typeMismatch, "unsigned integer of \(n) bytes (1, 2, 4 or 8 expected)", s)
        case .float:
            return error(.typeMismatch, "float of \(n) bytes (4 or 8 expected)", s)
        case .boolean:
            return error(.typeMismatch, "a boolean is one byte, 0 or 1", s)
        default:
            return error(.typeMismatch, "an object link is 4 bytes", s)
        }
    }
}
