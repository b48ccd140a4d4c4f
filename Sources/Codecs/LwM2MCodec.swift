public import LwM2MModel

/// One entry point for every LwM2M content format: encodes nodes and records to payload bytes and back,
/// typing decoded values by the object definitions.
///
/// Which node kinds each format can carry (``acceptable(_:for:)``):
///
/// | format | resource instance | single resource | multiple resource | object instance | object | composite (`/`, records) |
/// |---|---|---|---|---|---|---|
/// | text/plain (0), opaque (42), CBOR (60) | yes | yes | no | no | no | no |
/// | TLV (11542) | yes | yes | yes | yes | yes | no |
/// | SenML JSON (110), SenML CBOR (112), LwM2M JSON (11543), LwM2M CBOR (11544) | yes | yes | yes | yes | yes | yes |
/// | link format (40) | no | no | no | no | no | no |
///
/// A node the format cannot carry is `notAcceptable` (4.06); a format that carries no nodes at all (link format,
/// see ``CoRELinkFormat``) or an unknown Content-Format number (``format(number:)``) is `unsupportedFormat` (4.15).
///
/// Unknown resources: text/plain keeps the text as a string, TLV keeps the raw bytes as opaque, CBOR keeps its
/// own typed value; ``decodeReportingUntyped(_:at:as:)`` lists those paths, and
/// ``UnknownResourcePolicy/reject`` turns them into `unknownDefinition` errors instead.
public struct LwM2MCodec: Sendable {
    /// What to do with a resource that has no definition when the format carries no types.
    public enum UnknownResourcePolicy: Sendable, Hashable {
        /// Keep the most faithful untyped form (string for text, opaque bytes for TLV) and report the path.
        case keepRaw
        /// Fail with `unknownDefinition`.
        case reject
    }

    /// The definitions used to type decoded values (`nil`: every resource is unknown).
    public let definitions: (any LwM2MDefinitionProvider)?
    /// The policy for resources without a definition.
    public var unknownResources: UnknownResourcePolicy
    /// `definitions` when it is an ``LwM2MRegistry``: looked up through concrete, inlined code rather than the
    /// existential (whose every call copies the box).
    @usableFromInline let registry: LwM2MRegistry?

    /// Creates a codec typing values by `definitions`.
    public init(definitions: (any LwM2MDefinitionProvider)?, unknownResources: UnknownResourcePolicy = .keepRaw) {
        self.definitions = definitions
        self.unknownResources = unknownResources
        self.registry = definitions as? LwM2MRegistry
    }

    // MARK: - What goes where

    /// The format for a CoAP Content-Format number (legacy 1541-1544 included), or `unsupportedFormat`.
    public static func format(number: UInt16) throws(LwM2MCodecError) -> LwM2MContentFormat {
        guard let format = LwM2MContentFormat(number: number) else {
            throw LwM2MCodecError(code: .unsupportedFormat, reason: "content format \(number) is not an LwM2M format")
        }
        return format
    }

    /// Whether `format` can carry a node at `level` (`.root` meaning a composite payload of several paths).
    ///
    /// At `.resource` the single-value formats accept only single-instance resources; use
    /// ``acceptable(_:for:)-(_,LwM2MNode)`` to check a concrete node.
    public static func acceptable(_ format: LwM2MContentFormat, for level: LwM2MPath.Level) -> Bool {
        switch format {
        case .textPlain, .opaque, .cbor:
            return level == .resource || level == .resourceInstance
        case .tlv:
            return level != .root
        case .senmlJSON, .senmlCBOR, .lwm2mJSON, .lwm2mCBOR:
            return true
        case .linkFormat:
            return false
        }
    }

    /// Whether `format` can carry `node` (a multiple resource is not a single value).
    public static func acceptable(_ format: LwM2MContentFormat, for node: LwM2MNode) -> Bool {
        guard acceptable(format, for: node.level) else { return false }
        switch format {
        case .textPlain, .opaque, .cbor:
            if case .resource(let r) = node, r.isMultiple { return false }
            return true
        default:
            return true
        }
    }

    @usableFromInline
    static func notAcceptable(_ format: LwM2MContentFormat, _ what: String, _ path: LwM2MPath) -> LwM2MCodecError {
        LwM2MCodecError(code: .notAcceptable, reason: "\(format) cannot carry \(what)", path: path)
    }

    @usableFromInline
    static func check(_ format: LwM2MContentFormat, _ path: LwM2MPath) throws(LwM2MCodecError) {
        if format == .linkFormat {
            throw LwM2MCodecError(code: .unsupportedFormat, reason: "link format carries links, not nodes", path: path)
        }
        guard acceptable(format, for: path.level) else {
            throw notAcceptable(format, "a node at \(path)", path)
        }
    }

    // MARK: - Nodes

    /// Encodes `node` (which sits at `path`) as `format`, appending to `out`; on error `out` is unchanged.
    @inlinable
    public func encode(_ node: LwM2MNode, at path: LwM2MPath, as format: LwM2MContentFormat, into out: inout [UInt8])
        throws(LwM2MCodecError)
    {
        switch format {
        case .tlv:
            try LwM2MTLVCodec.encode(node, at: path, into: &out)
        case .textPlain:
            // Both errors (wrong node, non-finite float) are thrown before anything is written.
            try LwM2MTextCodec.encode(try Self.singleValue(node, path, format), into: &out)
        default:
            try encodeOther(node, at: path, as: format, into: &out)
        }
    }

    @usableFromInline
    func encodeOther(_ node: LwM2MNode, at path: LwM2MPath, as format: LwM2MContentFormat, into out: inout [UInt8])
        throws(LwM2MCodecError)
    {
        let start = out.count
        do throws(LwM2MCodecError) {
            switch format {
            case .opaque:
                try LwM2MOpaqueCodec.encode(try Self.singleValue(node, path, format), into: &out)
            case .cbor:
                CBORValueCodec.encode(try Self.singleValue(node, path, format), into: &out)
            case .senmlJSON:
                try LwM2MTLVCodec.checkPath(node, path)
                try SenMLJSONCodec.encode(node, at: path, into: &out)
            case .senmlCBOR:
                try LwM2MTLVCodec.checkPath(node, path)
                try SenMLCBORCodec.encode(node, at: path, into: &out)
            case .lwm2mJSON:
                try LwM2MTLVCodec.checkPath(node, path)
                try LwM2MJSONCodec.encode(node, at: path, into: &out)
            case .lwm2mCBOR:
                try LwM2MTLVCodec.checkPath(node, path)
                try LwM2MCBORCodec.encode(node, at: path, into: &out)
            case .linkFormat:
                try Self.check(format, path)
            case .tlv, .textPlain:
                try encode(node, at: path, as: format, into: &out)
            }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    /// Encodes `node` (which sits at `path`) as `format`.
    @inlinable
    public func encode(_ node: LwM2MNode, at path: LwM2MPath, as format: LwM2MContentFormat) throws(LwM2MCodecError)
        -> [UInt8]
    {
        var out: [UInt8] = []
        try encode(node, at: path, as: format, into: &out)
        return out
    }

    /// The value of a single resource or resource instance at `path`, or `notAcceptable` / `invalidPath`.
    @inlinable @inline(__always)
    static func singleValue(_ node: LwM2MNode, _ path: LwM2MPath, _ format: LwM2MContentFormat)
        throws(LwM2MCodecError) -> LwM2MValue
    {
        switch node {
        case .resource(let r):
            if case .single(let v) = r.content, path.depth == 3, path.resourceID == r.id { return v }
        case .resourceInstance(let ri):
            if path.depth == 4, path.resourceInstanceID == ri.id { return ri.value }
        case .object, .objectInstance:
            break
        }
        throw singleValueError(node, path, format)
    }

    /// Why `node` at `path` is not a single value `format` can carry (out of line: the error path).
    @usableFromInline
    static func singleValueError(_ node: LwM2MNode, _ path: LwM2MPath, _ format: LwM2MContentFormat)
        -> LwM2MCodecError
    {
        switch node {
        case .resource(let r):
            guard path.depth == 3, path.resourceID == r.id else { return badPath(node, path) }
            return notAcceptable(format, "the multiple resource \(path)", path)
        case .resourceInstance:
            return badPath(node, path)
        case .object, .objectInstance:
            return notAcceptable(format, "the \(node.level) node \(path)", path)
        }
    }

    @usableFromInline
    static func badPath(_ node: LwM2MNode, _ path: LwM2MPath) -> LwM2MCodecError {
        LwM2MCodecError(code: .invalidPath, reason: "\(path) does not name this \(node.level) node", path: path)
    }

    /// Decodes a payload in `format` for the node at `path`.
    @inlinable
    public func decode(_ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, as format: LwM2MContentFormat)
        throws(LwM2MCodecError) -> LwM2MNode
    {
        if unknownResources == .keepRaw {
            if format == .textPlain && path.depth >= 3 { return try decodeText(bytes, at: path) }
            if format == .tlv { return try LwM2MTLVCodec.decode(bytes, at: path, table: resourceTypeTable(path)) }
        }
        return try decodeReportingUntyped(bytes, at: path, as: format).node
    }

    /// Decodes a payload in `format` for the node at `path`.
    @inlinable
    public func decode(_ bytes: [UInt8], at path: LwM2MPath, as format: LwM2MContentFormat) throws(LwM2MCodecError)
        -> LwM2MNode
    {
        try withRawBytes(bytes) { (raw) throws(LwM2MCodecError) in try decode(raw, at: path, as: format) }
    }

    /// Decodes a payload in `format` for the node at `path` into `node`, reusing the arrays `node` holds: a
    /// server decoding payload after payload into one node allocates only for the string and opaque values that
    /// do not fit inline.
    ///
    /// The result and the errors are those of ``decode(_:at:as:)-(UnsafeRawBufferPointer,_,_)``, whatever `node`
    /// held before (any level, path or shape). Reused when `node` holds them uniquely: an object instance's
    /// resource array (also the first instance's of an object, when decoding an instance), an object's instance
    /// array and each of its instances' resource arrays. Storage shared with another copy of the node is never
    /// written: the decode then allocates, as the returning decode does, and the other copy keeps its values.
    /// Multiple resources' instance arrays are not reused.
    ///
    /// After a throw, `node` holds the empty node of `path`'s level, never part of the payload:
    /// `/o` an object with no instances, `/o/i` an object instance with no resources (both keep their array's
    /// capacity where the decoder still held it), `/o/i/r` a multiple resource with no instances, `/o/i/r/ri` a
    /// resource instance holding an empty opaque value. At the root path, which no format decodes to one node,
    /// `node` is left as it was.
    ///
    /// ```swift
    /// var node = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: []))
    /// for payload in payloads {
    ///     try codec.decode(payload, at: .instance(3, 0), as: .tlv, into: &node)
    /// }
    /// ```
    @inlinable
    public func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, as format: LwM2MContentFormat, into node: inout LwM2MNode
    ) throws(LwM2MCodecError) {
        guard path.depth > 0 else {
            node = try decode(bytes, at: path, as: format)
            return
        }
        var storage = LwM2MNodeStorage(taking: &node, for: path.level)
        do {
            node = try decode(bytes, at: path, as: format, reusing: &storage)
        } catch {
            node = storage.emptyNode(at: path)
            throw error
        }
    }

    /// Decodes a payload held in an array into `node`, as
    /// ``decode(_:at:as:into:)-(UnsafeRawBufferPointer,_,_,_)`` does.
    @inlinable
    public func decode(
        _ bytes: [UInt8], at path: LwM2MPath, as format: LwM2MContentFormat, into node: inout LwM2MNode
    ) throws(LwM2MCodecError) {
        try withRawBytes(bytes) { (raw) throws(LwM2MCodecError) in try decode(raw, at: path, as: format, into: &node) }
    }

    /// Decodes like ``decode(_:at:as:)-(UnsafeRawBufferPointer,_,_)`` into the arrays of `storage`.
    @inlinable
    func decode(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, as format: LwM2MContentFormat,
        reusing storage: inout LwM2MNodeStorage
    ) throws(LwM2MCodecError) -> LwM2MNode {
        if unknownResources == .keepRaw {
            if format == .textPlain && path.depth >= 3 { return try decodeText(bytes, at: path) }
            if format == .tlv {
                return try LwM2MTLVCodec.decode(bytes, at: path, table: resourceTypeTable(path), reusing: &storage)
            }
        }
        return try decodeReportingUntyped(bytes, at: path, as: format, reusing: &storage).node
    }

    /// Decodes like ``decode(_:at:as:)-(UnsafeRawBufferPointer,_,_)`` and lists the paths whose values had no
    /// definition and were kept untyped (text/plain and TLV; the structured formats carry their own types).
    public func decodeReportingUntyped(_ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, as format: LwM2MContentFormat)
        throws(LwM2MCodecError) -> LwM2MDecodedNode
    {
        var storage = LwM2MNodeStorage()
        return try decodeReportingUntyped(bytes, at: path, as: format, reusing: &storage)
    }

    /// Decodes like ``decodeReportingUntyped(_:at:as:)-(UnsafeRawBufferPointer,_,_)`` into the arrays of
    /// `storage` (SenML JSON and CBOR, LwM2M CBOR and TLV; the other formats build no arrays or allocate them).
    @usableFromInline
    func decodeReportingUntyped(
        _ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, as format: LwM2MContentFormat,
        reusing storage: inout LwM2MNodeStorage
    ) throws(LwM2MCodecError) -> LwM2MDecodedNode {
        try Self.check(format, path)
        let result: LwM2MDecodedNode
        switch format {
        case .tlv:
            result = try LwM2MTLVCodec.decodeReportingUntyped(
                bytes, at: path, definitions: definitions, reusing: &storage)
        case .textPlain, .opaque, .cbor:
            let (node, untyped) = try decodeSingle(bytes, at: path, as: format)
            result = LwM2MDecodedNode(node: node, untypedPaths: untyped ? [path] : [])
        case .senmlJSON:
            result = LwM2MDecodedNode(
                node: try SenMLJSONCodec.decode(bytes, at: path, definitions: definitions, reusing: &storage),
                untypedPaths: [])
        case .senmlCBOR:
            result = LwM2MDecodedNode(
                node: try SenMLCBORCodec.decode(bytes, at: path, definitions: definitions, reusing: &storage),
                untypedPaths: [])
        case .lwm2mJSON:
            result = LwM2MDecodedNode(
                node: try LwM2MJSONCodec.decode(bytes, at: path, definitions: definitions), untypedPaths: [])
        case .lwm2mCBOR:
            result = LwM2MDecodedNode(
                node: try LwM2MCBORCodec.decode(bytes, at: path, definitions: definitions, reusing: &storage),
                untypedPaths: [])
        case .linkFormat:
            fatalError("unreachable: rejected by check")
        }
        if unknownResources == .reject, let first = result.untypedPaths.first {
            throw LwM2MCodecError(code: .unknownDefinition, reason: "no definition for \(first)", path: first)
        }
        return result
    }

    /// Decodes like ``decodeReportingUntyped(_:at:as:)-(UnsafeRawBufferPointer,_,_)`` from an array.
    public func decodeReportingUntyped(_ bytes: [UInt8], at path: LwM2MPath, as format: LwM2MContentFormat)
        throws(LwM2MCodecError) -> LwM2MDecodedNode
    {
        try withRawBytes(bytes) { (raw) throws(LwM2MCodecError) in
            try decodeReportingUntyped(raw, at: path, as: format)
        }
    }

    /// A text/plain payload at a resource or resource-instance path (depth 3 or 4), unknown resources kept as
    /// strings: the fast path of ``decode(_:at:as:)-(UnsafeRawBufferPointer,_,_)``.
    @inlinable @inline(__always)
    func decodeText(_ bytes: UnsafeRawBufferPointer, at path: LwM2MPath) throws(LwM2MCodecError) -> LwM2MNode {
        let instanceID = path.resourceInstanceID
        let info = resourceInfo(path)
        if let info, info.isMultiple == (instanceID == nil) { throw Self.multiplicityError(.textPlain, path) }
        let value = try LwM2MTextCodec.decode(bytes, as: info?.type)
        if let instanceID { return .resourceInstance(LwM2MResourceInstance(id: instanceID, value: value)) }
        return .resource(LwM2MResource(id: path.resourceID.unsafelyUnwrapped, content: .single(value)))
    }

    /// A single-value payload (text, opaque, CBOR) at a resource or resource-instance path, and whether its
    /// resource had no definition.
    @inlinable
    func decodeSingle(_ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, as format: LwM2MContentFormat)
        throws(LwM2MCodecError) -> (node: LwM2MNode, untyped: Bool)
    {
        guard path.depth >= 3 else { throw Self.notAcceptable(format, "a node at \(path)", path) }
        let info = resourceInfo(path)
        if let info, info.isMultiple == (path.depth == 3) { throw Self.multiplicityError(format, path) }
        let value: LwM2MValue
        switch format {
        case .textPlain: value = try LwM2MTextCodec.decode(bytes, as: info?.type)
        case .opaque: value = try LwM2MOpaqueCodec.decode(bytes, as: info?.type)
        default: value = try Self.decodeCBORValue(bytes, as: info?.type)
        }
        let node: LwM2MNode =
            path.depth == 3
            ? .resource(LwM2MResource(id: path.resourceID!, content: .single(value)))
            : .resourceInstance(LwM2MResourceInstance(id: path.resourceInstanceID!, value: value))
        return (node, info == nil && format != .cbor)
    }

    /// A single value sent to a multiple resource (`notAcceptable`), or a resource instance of a single resource
    /// (`typeMismatch`).
    @usableFromInline
    static func multiplicityError(_ format: LwM2MContentFormat, _ path: LwM2MPath) -> LwM2MCodecError {
        if path.depth == 3 { return notAcceptable(format, "the multiple resource \(path)", path) }
        return LwM2MCodecError(code: .typeMismatch, reason: "\(path.parent!) is a single resource", path: path)
    }

    @usableFromInline
    static func decodeCBORValue(_ bytes: UnsafeRawBufferPointer, as type: LwM2MResourceType?) throws(LwM2MCodecError)
        -> LwM2MValue
    {
        try CBORValueCodec.decode(bytes, as: type)
    }

    /// The type and multiplicity of the resource `path` names (`nil` when unknown or executable).
    @inlinable @inline(__always)
    func resourceInfo(_ path: LwM2MPath) -> (type: LwM2MResourceType, isMultiple: Bool)? {
        guard let o = path.objectID, let r = path.resourceID else { return nil }
        let info: (type: LwM2MResourceType, isMultiple: Bool)?
        if let registry {
            info = registry.resourceTypeInfo(objectID: o, resourceID: r)
        } else {
            info = definitions?.resourceTypeInfo(objectID: o, resourceID: r)
        }
        guard let info, info.type != .none else { return nil }
        return info
    }

    /// The resource types of the object `path` names (`nil` when unknown or at the root).
    @inlinable
    func resourceTypeTable(_ path: LwM2MPath) -> LwM2MResourceTypeTable? {
        guard let o = path.objectID else { return nil }
        return registry != nil ? registry?.resourceTypeTable(objectID: o) : definitions?.resourceTypeTable(objectID: o)
    }

    // MARK: - Records (composite operations, Send, time series)

    /// Encodes records (several paths, optionally timestamped) in a format that can carry them, appending to
    /// `out`: SenML JSON/CBOR, LwM2M JSON/CBOR. Other formats are `notAcceptable`.
    public func encode(records: [LwM2MRecord], as format: LwM2MContentFormat, into out: inout [UInt8])
        throws(LwM2MCodecError)
    {
        let start = out.count
        do throws(LwM2MCodecError) {
            switch format {
            case .senmlJSON: try SenMLJSONCodec.encode(records: records, into: &out)
            case .senmlCBOR: try SenMLCBORCodec.encode(records: records, into: &out)
            case .lwm2mJSON: try LwM2MJSONCodec.encode(records: records, into: &out)
            case .lwm2mCBOR: try LwM2MCBORCodec.encode(records: records, into: &out)
            case .linkFormat:
                throw LwM2MCodecError(code: .unsupportedFormat, reason: "link format carries links, not records")
            case .textPlain, .opaque, .cbor, .tlv:
                throw LwM2MCodecError(code: .notAcceptable, reason: "\(format) cannot carry several paths")
            }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    /// Encodes records in a format that can carry them.
    public func encode(records: [LwM2MRecord], as format: LwM2MContentFormat) throws(LwM2MCodecError) -> [UInt8] {
        var out: [UInt8] = []
        try encode(records: records, as: format, into: &out)
        return out
    }

    /// Decodes a payload of records (composite operations, Send, notifications with time series).
    public func decode(records bytes: UnsafeRawBufferPointer, as format: LwM2MContentFormat) throws(LwM2MCodecError)
        -> [LwM2MRecord]
    {
        switch format {
        case .senmlJSON: return try SenMLJSONCodec.decodeRecords(bytes, definitions: definitions)
        case .senmlCBOR: return try SenMLCBORCodec.decodeRecords(bytes, definitions: definitions)
        case .lwm2mJSON: return try LwM2MJSONCodec.decodeRecords(bytes, definitions: definitions)
        case .lwm2mCBOR: return try LwM2MCBORCodec.decodeRecords(bytes, definitions: definitions)
        case .linkFormat:
            throw LwM2MCodecError(code: .unsupportedFormat, reason: "link format carries links, not records")
        case .textPlain, .opaque, .cbor, .tlv:
            throw LwM2MCodecError(code: .notAcceptable, reason: "\(format) cannot carry several paths")
        }
    }

    /// Decodes a payload of records held in an array.
    public func decode(records bytes: [UInt8], as format: LwM2MContentFormat) throws(LwM2MCodecError) -> [LwM2MRecord] {
        try withRawBytes(bytes) { (raw) throws(LwM2MCodecError) in try decode(records: raw, as: format) }
    }
}
