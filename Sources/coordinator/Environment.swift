import ArgumentParser
import Foundation

/// Flags win over environment variables, which win over defaults. Each option names the variables
/// it reads, Coder's first where Coder has one.
enum Environment {
    static func value(_ flag: String?, _ names: String...) -> String? {
        if let flag { return flag }
        let environment = ProcessInfo.processInfo.environment
        for name in names { if let value = environment[name], !value.isEmpty { return value } }
        return nil
    }

    /// `$XDG_DATA_HOME/coordinator`, else `~/.local/share/coordinator`.
    static var defaultDataDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return "\(xdg)/coordinator" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return "\(home)/.local/share/coordinator"
    }
}

/// Where the database is: an external URL, or the embedded cluster in the data directory.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("postgres-url"), help: "PostgreSQL connection URL or libpq connection string; without it, an embedded PostgreSQL runs in the data directory. (env: CODER_PG_CONNECTION_URL)")
    var postgresURLFlag: String?

    @Option(name: .customLong("data-dir"), help: "Where the embedded PostgreSQL keeps its cluster. (env: COORDINATOR_DATA_DIR; default: $XDG_DATA_HOME/coordinator or ~/.local/share/coordinator)")
    var dataDirectoryFlag: String?

    @Option(name: .customLong("postgres-pool-size"), help: "Maximum database connections this process opens. (env: COORDINATOR_PG_POOL_SIZE; default: 10)")
    var poolSizeFlag: Int?

    var postgresURL: String? { Environment.value(postgresURLFlag, "CODER_PG_CONNECTION_URL") }
    var dataDirectory: String { Environment.value(dataDirectoryFlag, "COORDINATOR_DATA_DIR") ?? Environment.defaultDataDirectory }

    var poolSize: Int {
        get throws {
            let raw = Environment.value(poolSizeFlag.map(String.init), "COORDINATOR_PG_POOL_SIZE") ?? "10"
            guard let size = Int(raw), size > 0 else { throw ValidationError("--postgres-pool-size must be a positive integer, not \"\(raw)\"") }
            return size
        }
    }
}
