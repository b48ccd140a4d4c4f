import CoAPCore
import Codecs
import LwM2MModel
import Logging
import ServerKit

/// Where the server's object definitions and payload codec come from.
enum ModelLoading {
    /// The definitions shipped in `Registry/` plus every `--models` directory (later ones override).
    static func registry(extraDirectories: [String], logger: Logger) throws -> LwM2MRegistry {
        var registry = LwM2MRegistry.builtIn
        if registry.objectIDs.isEmpty {
            logger.warning("the shipped Registry/ definitions were not found next to the executable")
        }
        for directory in extraDirectories {
            let errors = registry.load(folder: directory)
            for error in errors { logger.warning("model not loaded: \(error)") }
        }
        logger.info("object definitions loaded", metadata: ["objects": "\(registry.objectIDs.count)"])
        return registry
    }

    /// The payload codec for `registry`.
    static func codec(_ registry: LwM2MRegistry) -> any LwM2MPayloadCodec {
        LwM2MCodec(definitions: registry)
    }
}
