import Foundation
import PackagePlugin

/// Embeds every file of a target that is not Swift source (the OpenAPI document; later the web
/// interface's templates and assets) into a generated `EmbeddedResources` enum, so it lives once
/// in the tree and the binary needs no resource bundle. The target excludes those files from its
/// sources in Package.swift.
@main struct EmbedResourcesPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let directory = target.directoryURL
        var inputs: [URL] = []
        let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension != "swift", (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            inputs.append(url)
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedResources.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) file(s) in \(target.name)",
                executable: try context.tool(named: "EmbedResources").url,
                arguments: [output.path, directory.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }
}
