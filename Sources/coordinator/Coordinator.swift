import ArgumentParser

@main
struct Coordinator: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "A multi-replica coordinator serving the enterprise part of Coder's API.",
        version: version,
        subcommands: [ServerCommand.self, MigrateCommand.self, ProvisionerdCommand.self, LicenseCommand.self]
    )
}
