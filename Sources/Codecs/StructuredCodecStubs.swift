import LwM2MModel

// Placeholders for the codecs written on the `codecs-senml` branch, so this branch compiles on its own.
// The lead deletes this file when merging; the real types keep these exact signatures.

private let notYet = LwM2MCodecError(code: .unsupportedFormat, reason: "format not available in this build")

/// Placeholder for the SenML JSON (110) codec.
enum SenMLJSONCodec {
    static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) { throw notYet }
    static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) { throw notYet }
    static func decode(_ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> LwM2MNode { throw notYet }
    static func decodeRecords(_ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> [LwM2MRecord] { throw notYet }
}

/// Placeholder for the SenML CBOR (112) codec.
enum SenMLCBORCodec {
    static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) { throw notYet }
    static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) { throw notYet }
    static func decode(_ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> LwM2MNode { throw notYet }
    static func decodeRecords(_ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> [LwM2MRecord] { throw notYet }
}

/// Placeholder for the LwM2M JSON (11543) codec.
enum LwM2MJSONCodec {
    static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) { throw notYet }
    static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) { throw notYet }
    static func decode(_ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> LwM2MNode { throw notYet }
    static func decodeRecords(_ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> [LwM2MRecord] { throw notYet }
}

/// Placeholder for the LwM2M CBOR (11544) codec.
enum LwM2MCBORCodec {
    static func encode(_ node: LwM2MNode, at path: LwM2MPath, into out: inout [UInt8]) throws(LwM2MCodecError) { throw notYet }
    static func encode(records: [LwM2MRecord], into out: inout [UInt8]) throws(LwM2MCodecError) { throw notYet }
    static func decode(_ bytes: UnsafeRawBufferPointer, at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> LwM2MNode { throw notYet }
    static func decodeRecords(_ bytes: UnsafeRawBufferPointer, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> [LwM2MRecord] { throw notYet }
}

/// Placeholder for the single-value CBOR (60) codec.
enum CBORValueCodec {
    static func encode(_ value: LwM2MValue, into out: inout [UInt8]) {}
    static func decode(_ bytes: UnsafeRawBufferPointer, as type: LwM2MResourceType?) throws(LwM2MCodecError)
        -> LwM2MValue { throw notYet }
}
