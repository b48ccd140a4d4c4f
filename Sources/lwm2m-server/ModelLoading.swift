import CoAPCore
import Codecs
import Foundation
import LwM2MModel
import Logging
import ServerKit

/// Where the server's object definitions and payload codec come from.
enum ModelLoading {
    /// The definitions shipped in `Registry/` plus every `--models` directory (later ones override). A directory
    /// that cannot be listed, holds no `*.xml` file, or holds a file that does not load is a startup error.
    static func registry(extraDirectories: [String], logger: Logger) throws(StartupError) -> LwM2MRegistry {
        var registry = LwM2MRegistry.builtIn
        if registry.objectIDs.isEmpty {
            logger.warning("the shipped Registry/ definitions were not found next to the executable")
        }
        for directory in extraDirectories {
            let result = LwM2MDefinitionLoader.definitions(folder: directory)
            if let error = result.errors.first {
                let more = result.errors.count > 1 ? " (and \(result.errors.count - 1) more)" : ""
                throw StartupError("--models \(directory): \(error)\(more)")
            }
            guard result.fileCount > 0 else { throw StartupError("--models \(directory): no *.xml object definitions") }
            for definition in result.definitions { registry.add(definition) }
        }
        logger.info("object definitions loaded", metadata: ["objects": "\(registry.objectIDs.count)"])
        return registry
    }

    /// The key map: the registry's default keys plus the overrides of `file`, if given.
    static func keys(file: String?, registry: LwM2MRegistry) throws(StartupError) -> ResourceKeyMap {
        var keys = ResourceKeyMap(registry: registry)
        guard let file else { return keys }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw StartupError("--keys \(file): cannot read the file (\(error.localizedDescription))")
        }
        do { try keys.loadOverrides(json: text) } catch {
            throw StartupError("--keys \(file): \(error.reason)")
        }
        return keys
    }

    /// The payload codec for `registry`.
    static func codec(_ registry: LwM2MRegistry) -> any LwM2MPayloadCodec {
        LwM2MCodec(definitions: registry)
    }
}

/// A configuration problem found at startup: printed as one line on standard error, exit status 1.
struct StartupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
