import CoAPCore
import Codecs
import LwM2MModel
import Logging
import ServerKit

/// Where the server's object definitions and payload codec come from.
enum ModelLoading {
    /// The shipped definitions plus every `--models` directory.
    static func registry(extraDirectories: [String], logger: Logger) throws -> LwM2MRegistry {
        let registry = LwM2MRegistry()
        if !extraDirectories.isEmpty {
            logger.warning("--models is accepted but not loaded yet: the DDF loader is not in this build")
        }
        return registry
    }

    /// The payload codec for `registry`.
    static func codec(_ registry: LwM2MRegistry) -> any LwM2MPayloadCodec {
        UnavailableCodec()
    }
}

/// Until Codecs' `LwM2MCodec` is available in this build: every payload operation is unsupported (4.15).
struct UnavailableCodec: LwM2MPayloadCodec {
    private func unsupported() -> LwM2MCodecError {
        LwM2MCodecError(code: .unsupportedFormat, reason: "no payload codec in this build")
    }
    func encode(_ node: LwM2MNode, at path: LwM2MPath, as format: CoAPContentFormat) throws(LwM2MCodecError) -> [UInt8] {
        throw unsupported()
    }
    func decode(_ bytes: [UInt8], at path: LwM2MPath, as format: CoAPContentFormat) throws(LwM2MCodecError) -> LwM2MNode {
        throw unsupported()
    }
    func encode(records: [LwM2MRecord], as format: CoAPContentFormat) throws(LwM2MCodecError) -> [UInt8] {
        throw unsupported()
    }
    func decode(records bytes: [UInt8], as format: CoAPContentFormat) throws(LwM2MCodecError) -> [LwM2MRecord] {
        throw unsupported()
    }
}
