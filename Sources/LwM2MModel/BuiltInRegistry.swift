internal import LwM2MRegistryResources

/// Loads the package's own definitions (`Registry/objects`) once.
final class BuiltInRegistry: Sendable {
    let registry: LwM2MRegistry
    let errors: [LwM2MDefinitionLoadingError]

    static let shared = BuiltInRegistry()

    /// Where the shipped definition files are, or `nil` when the resource bundle is missing.
    static var folder: String? { LwM2MRegistryResources.objectsFolder }

    private init() {
        guard let folder = Self.folder else {
            registry = LwM2MRegistry()
            errors = [LwM2MDefinitionLoadingError(
                code: .unreadableFile, reason: "the package's Registry resources were not found",
                file: "Registry/objects", line: 0)]
            return
        }
        let result = LwM2MRegistry.loading(folder: folder)
        registry = result.registry
        errors = result.errors
    }
}
