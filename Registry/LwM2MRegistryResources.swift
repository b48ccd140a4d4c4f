// The object definitions shipped with swift-lwm2m live in `objects/` next to this file. SwiftPM only
// bundles resources that belong to a target, so this folder is a tiny resource target: this file is its
// only source, and it tells `LwM2MModel` where the bundled copy of `objects/` is at run time.
import Foundation

/// Where the package's own OMA DDF files are after installation (the target's resource bundle).
public enum LwM2MRegistryResources {
    /// The absolute path of the bundled `objects` folder, or `nil` when the bundle is missing.
    public static var objectsFolder: String? {
        Bundle.module.url(forResource: "objects", withExtension: nil)?.path
    }
}
