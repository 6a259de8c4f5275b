import ArgumentParser
import CoordinatorServer
import Foundation
import Logging
import Postgres
import Store
import Support

/// `coordinator migrate up|status`.
public struct MigrateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply or inspect database migrations.",
        subcommands: [Up.self, Status.self],
        defaultSubcommand: Up.self
    )

    public init() {}

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply every pending migration (safe to run from several processes at once).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let logger = Logger(label: "coordinator.migrate")
            try await withDatabase(database, logger: logger) { store in
                let applied = try await store.migrate(logger: logger)
                print(applied.isEmpty ? "database is up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every migration and whether it is applied.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await withDatabase(database, logger: Logger(label: "coordinator.migrate")) { store in
                for migration in try await store.migrationStatus() {
                    let state = migration.appliedAt.map { "applied \($0)" } ?? "pending"
                    print("\(String(format: "%04d", migration.version))  \(migration.name.padding(toLength: 24, withPad: " ", startingAt: 0))  \(state)")
                }
            }
        }
    }
}

private func withDatabase(_ options: DatabaseOptions, logger: Logger, _ body: (Store) async throws -> Void) async throws {
    let database: Database
    do {
        database = try await Database.open(try options.configuration, logger: logger)
    } catch {
        FileHandle.standardError.write(Data("error: \(oneLine(error))\n".utf8))
        throw ExitCode.failure
    }
    do {
        try await body(database.store)
        await database.close(logger: logger)
    } catch {
        await database.close(logger: logger)
        FileHandle.standardError.write(Data("error: \(oneLine(error))\n".utf8))
        throw ExitCode.failure
    }
}
