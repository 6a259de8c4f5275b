import ArgumentParser
import CoordinatorCommands

@main
struct Coordinator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "A multi-replica coordinator serving the enterprise part of Coder's API.",
        version: CoordinatorVersion.current,
        subcommands: [ServerCommand.self, MigrateCommand.self, ProvisionerdCommand.self, LicenseCommand.self]
    )
}
