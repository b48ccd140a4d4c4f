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
