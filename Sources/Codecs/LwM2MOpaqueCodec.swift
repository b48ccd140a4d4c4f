public import LwM2MModel

/// The `application/octet-stream` content format (42, LwM2M 1.0 legacy 1544): the raw bytes of one Opaque
/// resource or resource instance (Core TS 1.1 section 7.4.2), e.g. a firmware image.
public enum LwM2MOpaqueCodec {
    /// Appends the bytes of an opaque `value`; any other type is `notAcceptable` (the format only carries Opaque).
    @inlinable
    public static func encode(_ value: LwM2MValue, into out: inout [UInt8]) throws(LwM2MCodecError) {
        guard case .opaque(let bytes) = value else {
            throw LwM2MCodecError(
                code: .notAcceptable, reason: "\(value.type.rawValue) values cannot be sent as opaque")
        }
        out.append(contentsOf: bytes)
    }

    /// The payload as an opaque value. `type` is the resource's type when known: anything but Opaque is a
    /// `typeMismatch` (the format is only for Opaque resources); `nil` (unknown resource) is accepted.
    @inlinable
    public static func decode(_ bytes: UnsafeRawBufferPointer, as type: LwM2MResourceType?) throws(LwM2MCodecError)
        -> LwM2MValue
    {
        if let type, type != .opaque, type != .none {
            throw LwM2MCodecError(
                code: .typeMismatch, reason: "an opaque payload for a \(type.rawValue) resource", offset: 0)
        }
        return .opaque(Array(bytes))
    }
}
