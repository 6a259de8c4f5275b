import ArgumentParser
import CoordinatorServer
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

    /// A secret given directly (flag, then `names`) or as a file to read (`fileFlag`, then
    /// `fileNames`), so that it need not appear in `ps` or a unit file. A file's trailing newline is
    /// dropped. Giving both forms is an error: it is never clear which one the operator meant.
    static func secret(_ flag: String?, _ names: [String], file fileFlag: String?, _ fileNames: [String], option: String) throws -> String? {
        let environment = ProcessInfo.processInfo.environment
        let direct = flag ?? names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        let path = fileFlag ?? fileNames.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        switch (direct, path) {
        case (nil, nil): return nil
        case (let value?, nil): return value
        case (.some, .some): throw ValidationError("give either --\(option) or --\(option)-file, not both")
        case (nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("--\(option)-file: cannot read \"\(path)\"")
            }
            var text = String(decoding: data, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            guard !text.isEmpty else { throw ValidationError("--\(option)-file: \"\(path)\" is empty") }
            return text
        }
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

    @Option(name: .customLong("postgres-url-file"), help: "A file holding the PostgreSQL URL, instead of --postgres-url (keeps a password out of ps and unit files). (env: COORDINATOR_POSTGRES_URL_FILE)")
    var postgresURLFileFlag: String?

    @Option(name: .customLong("postgres-connect-timeout"), help: "At start, how long to wait for an unreachable database before giving up. (env: COORDINATOR_POSTGRES_CONNECT_TIMEOUT; default: 60s)")
    var connectTimeoutFlag: String?

    @Option(name: .customLong("data-dir"), help: "Where the embedded PostgreSQL keeps its cluster. (env: COORDINATOR_DATA_DIR; default: $XDG_DATA_HOME/coordinator or ~/.local/share/coordinator)")
    var dataDirectoryFlag: String?

    @Option(name: .customLong("postgres-pool-size"), help: "Maximum database connections this process opens. (env: COORDINATOR_PG_POOL_SIZE; default: 10)")
    var poolSizeFlag: Int?

    var postgresURL: String? {
        get throws {
            try Environment.secret(postgresURLFlag, ["CODER_PG_CONNECTION_URL"], file: postgresURLFileFlag, ["COORDINATOR_POSTGRES_URL_FILE"], option: "postgres-url")
        }
    }

    var connectTimeout: Duration {
        get throws {
            guard let raw = Environment.value(connectTimeoutFlag, "COORDINATOR_POSTGRES_CONNECT_TIMEOUT") else { return .seconds(60) }
            guard let timeout = parseDuration(raw), timeout > .zero else {
                throw ValidationError("--postgres-connect-timeout must be a positive duration like 500ms, 1s or 2m, not \"\(raw)\"")
            }
            return timeout
        }
    }
    var dataDirectory: String { Environment.value(dataDirectoryFlag, "COORDINATOR_DATA_DIR") ?? Environment.defaultDataDirectory }

    /// What these options give; a bad value fails with a message naming its flag.
    var configuration: Database.Configuration {
        get throws {
            let source: Database.Configuration.Source = try postgresURL.map { .url($0) } ?? .embedded(dataDirectory: dataDirectory)
            return Database.Configuration(source: source, poolSize: try poolSize, connectTimeout: try connectTimeout)
        }
    }

    var poolSize: Int {
        get throws {
            let raw = Environment.value(poolSizeFlag.map(String.init), "COORDINATOR_PG_POOL_SIZE") ?? "10"
            guard let size = Int(raw), size > 0 else { throw ValidationError("--postgres-pool-size must be a positive integer, not \"\(raw)\"") }
            return size
        }
    }
}
