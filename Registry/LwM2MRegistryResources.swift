// The object definitions shipped with swift-lwm2m live in `objects/` next to this file. SwiftPM only
// bundles resources that belong to a target, so this folder is a tiny resource target: this file is its
// only source, and it tells `LwM2MModel` where the bundled copy of `objects/` is at run time.
import Foundation

/// Where the package's own OMA DDF files are at run time.
public enum LwM2MRegistryResources {
    /// The absolute path of the shipped `objects` folder, or `nil` when it cannot be found.
    ///
    /// Looks for the resource bundle SwiftPM builds for this target next to the running executable
    /// (`<package>_LwM2MRegistryResources.resources` on Linux, `.bundle` on Apple platforms; the package
    /// part depends on how the package was added, so any prefix is accepted), then for the source tree
    /// this file was compiled from. Unlike the generated `Bundle.module`, it never traps when nothing is
    /// found.
    public static let objectsFolder: String? = {
        let fileManager = FileManager.default
        var directories = [Bundle.main.bundleURL]
        if let executable = Bundle.main.executableURL?.deletingLastPathComponent() { directories.append(executable) }
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for directory in directories {
            guard let names = try? fileManager.contentsOfDirectory(atPath: directory.path) else { continue }
            for name in names.sorted()
            where name.hasSuffix("_LwM2MRegistryResources.resources") || name.hasSuffix("_LwM2MRegistryResources.bundle") {
                let bundle = directory.appendingPathComponent(name)
                for candidate in ["objects", "Contents/Resources/objects"] {
                    let folder = bundle.appendingPathComponent(candidate).path
                    if fileManager.fileExists(atPath: folder) { return folder }
                }
            }
        }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("objects").path
        return fileManager.fileExists(atPath: source) ? source : nil
    }()
}
