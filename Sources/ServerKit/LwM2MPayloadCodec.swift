public import CoAPCore
public import Codecs
public import LwM2MModel

/// The payload encoder/decoder the server uses for every content format. Codecs' `LwM2MCodec` is the standard
/// implementation; tests may plug in others.
public protocol LwM2MPayloadCodec: Sendable {
    /// Encodes `node` (at `path`) as `format`.
    func encode(_ node: LwM2MNode, at path: LwM2MPath, as format: CoAPContentFormat) throws(LwM2MCodecError) -> [UInt8]
    /// Decodes a payload in `format` for the node at `path`.
    func decode(_ bytes: [UInt8], at path: LwM2MPath, as format: CoAPContentFormat) throws(LwM2MCodecError) -> LwM2MNode
    /// Encodes records (composite operations) as `format`.
    func encode(records: [LwM2MRecord], as format: CoAPContentFormat) throws(LwM2MCodecError) -> [UInt8]
    /// Decodes records (composite responses, Send, time-series notifications) in `format`.
    func decode(records bytes: [UInt8], as format: CoAPContentFormat) throws(LwM2MCodecError) -> [LwM2MRecord]
}

extension LwM2MCodec: LwM2MPayloadCodec {
    private static func lwm2mFormat(_ format: CoAPContentFormat) throws(LwM2MCodecError) -> LwM2MContentFormat {
        try LwM2MCodec.format(number: format.rawValue)
    }

    /// Encodes `node` (at `path`) as `format`.
    public func encode(_ node: LwM2MNode, at path: LwM2MPath, as format: CoAPContentFormat) throws(LwM2MCodecError)
        -> [UInt8]
    {
        try encode(node, at: path, as: try Self.lwm2mFormat(format))
    }

    /// Decodes a payload in `format` for the node at `path`.
    public func decode(_ bytes: [UInt8], at path: LwM2MPath, as format: CoAPContentFormat) throws(LwM2MCodecError)
        -> LwM2MNode
    {
        try decode(bytes, at: path, as: try Self.lwm2mFormat(format))
    }

    /// Encodes records as `format`.
    public func encode(records: [LwM2MRecord], as format: CoAPContentFormat) throws(LwM2MCodecError) -> [UInt8] {
        try encode(records: records, as: try Self.lwm2mFormat(format))
    }

    /// Decodes records in `format`.
    public func decode(records bytes: [UInt8], as format: CoAPContentFormat) throws(LwM2MCodecError) -> [LwM2MRecord] {
        try decode(records: bytes, as: try Self.lwm2mFormat(format))
    }
}
