import CLibPQ
import Foundation
import Logging

/// Where the server's notices and warnings go (such as "terminating connection due to immediate
/// shutdown command" when a primary is stopped under us): through the process's log handler, so
/// that they keep the log's format, instead of libpq's default of raw lines on stderr.
private let noticeLogger = Logger(label: "postgres")

/// A libpq connection. Blocking, not Sendable: it is created, used and finished on one thread
/// (see `ConnectionActor` and `Listener`), which is what libpq expects of a `PGconn`.
final class PostgresConnection {
    private(set) var handle: OpaquePointer?

    /// Opens a connection with any libpq connection string or URL (multi-host and
    /// `target_session_attrs` included; `PG*` variables and `.pgpass` apply as libpq defines).
    init(connectionString: String) throws {
        let conn = PQconnectdb(connectionString)
        guard let conn else { throw PostgresError(.connection, "out of memory opening a connection") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(conn))
            PQfinish(conn)
            throw PostgresError(.connection, message.isEmpty ? "could not connect" : message)
        }
        PQsetNoticeProcessor(conn, { _, message in
            noticeLogger.warning("database server: \(PostgresConnection.trimmed(message))")
        }, nil)
        handle = conn
        // Stable text formats regardless of the server's or role's defaults.
        _ = try execute("SET DateStyle = 'ISO, MDY'; SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET client_min_messages = warning")
    }

    deinit { close() }

    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    var isBroken: Bool {
        guard let handle else { return true }
        return PQstatus(handle) != CONNECTION_OK
    }

    var socket: Int32 { handle.map { PQsocket($0) } ?? -1 }

    var backendPID: Int32 { handle.map { PQbackendPID($0) } ?? 0 }

    /// True unless an idle connection has already been told by the server that it is gone
    /// (for instance after `pg_terminate_backend`). Costs one `poll` with no wait. A pooled
    /// connection never LISTENs, so any input while idle is the server's goodbye (a FATAL message,
    /// then EOF, which libpq may not have seen yet): it is treated as dead and replaced.
    func checkIdleHealth() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        var fd = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&fd, 1, 0) == 0
    }

    /// Runs a parameterized statement (extended protocol, one statement).
    func query(_ sql: String, _ parameters: [PostgresParameter]) throws -> PostgresResult {
        guard let handle else { throw PostgresError(.connection, "connection is closed") }
        let count = parameters.count
        var values = [UnsafePointer<CChar>?](repeating: nil, count: count)
        var lengths = [Int32](repeating: 0, count: count)
        var formats = [Int32](repeating: 0, count: count)
        var allocations: [UnsafeMutableRawPointer] = []
        defer { allocations.forEach { free($0) } }
        for (i, parameter) in parameters.enumerated() {
            switch parameter {
            case .null:
                values[i] = nil
            case .text(let text):
                // libpq reads a text parameter as a C string: a NUL would end it early and the
                // statement would run on what came before (a login for `alice\u{0}x` as `alice`).
                // Inputs are refused before they get here; this is the backstop.
                guard !text.utf8.contains(0) else { throw PostgresError.nulInText(parameter: i + 1) }
                let copy = strdup(text)!
                allocations.append(copy)
                values[i] = UnsafePointer(copy)
            case .binary(let bytes):
                let copy = malloc(max(bytes.count, 1))!
                bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(copy), byteCount: bytes.count) }
                allocations.append(copy)
                values[i] = UnsafePointer(copy.assumingMemoryBound(to: CChar.self))
                lengths[i] = Int32(bytes.count)
                formats[i] = 1
            }
        }
        let result = PQexecParams(handle, sql, Int32(count), nil, values, lengths, formats, 0)
        return try consume(result)
    }

    /// Runs one or more statements with no parameters (simple protocol): migrations, LISTEN.
    @discardableResult
    func execute(_ sql: String) throws -> PostgresResult {
        guard let handle else { throw PostgresError(.connection, "connection is closed") }
        return try consume(PQexec(handle, sql))
    }

    private func consume(_ result: OpaquePointer?) throws -> PostgresResult {
        guard let result else {
            throw PostgresError(.connection, Self.trimmed(handle.map { PQerrorMessage($0) } ?? nil))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            let fieldCount = PQnfields(result)
            let rowCount = PQntuples(result)
            let columns = PostgresColumns(names: (0..<fieldCount).map { String(cString: PQfname(result, $0)) })
            var rows: [PostgresRow] = []
            rows.reserveCapacity(Int(rowCount))
            for r in 0..<rowCount {
                var values: [String?] = []
                values.reserveCapacity(Int(fieldCount))
                for f in 0..<fieldCount {
                    if PQgetisnull(result, r, f) == 1 {
                        values.append(nil)
                    } else {
                        let length = Int(PQgetlength(result, r, f))
                        let pointer = UnsafeRawPointer(PQgetvalue(result, r, f)!)
                        values.append(String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self))
                    }
                }
                rows.append(PostgresRow(columns: columns, values: values))
            }
            return PostgresResult(rows: rows, affectedRows: Int(rowCount))
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            let tuples = String(cString: PQcmdTuples(result))
            return PostgresResult(rows: [], affectedRows: Int(tuples) ?? 0)
        default:
            throw Self.error(from: result, connectionBroken: isBroken)
        }
    }

    private static func error(from result: OpaquePointer, connectionBroken: Bool) -> PostgresError {
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let sqlState = field(Int32(UInt8(ascii: "C")))
        let primary = field(Int32(UInt8(ascii: "M"))) ?? trimmed(PQresultErrorMessage(result))
        return PostgresError(
            connectionBroken ? .connection : .server,
            primary,
            sqlState: sqlState,
            detail: field(Int32(UInt8(ascii: "D"))),
            constraint: field(Int32(UInt8(ascii: "n")))
        )
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
