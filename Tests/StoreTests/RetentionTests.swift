import Foundation
import Postgres
import Store
import Testing
import TestSupport

/// `Store.purge`: what each retention deletes and keeps, and one purge at a time.
@Suite struct RetentionTests {
    typealias Fixture = QuotaStoreTests.Fixture

    /// A finished job `daysAgo` old with `lines` log lines.
    func finishedJob(_ f: Fixture, daysAgo: Int, lines: Int, build: WorkspaceBuild? = nil) async throws -> UUID {
        let id: UUID
        if let build { id = build.jobID } else {
            id = try await f.store.createTemplateVersion(name: "v-\(UUID().uuidString.prefix(6))", templateID: nil, job: NewProvisionerJob(
                organizationID: f.organization.id, initiatorID: f.owner.id, provisioner: "echo", type: .templateVersionImport, fileID: f.fileID,
                input: "{}", tags: ["scope": "organization", "owner": ""]
            )).jobID
        }
        try await f.store.pool.query(
            "UPDATE provisioner_jobs SET started_at = now() - $2 * interval '1 day', completed_at = now() - $2 * interval '1 day' WHERE id = $1",
            [id, Int64(daysAgo)]
        )
        for n in 0..<lines {
            try await f.store.pool.query("INSERT INTO provisioner_job_logs (job_id, output) VALUES ($1, $2)", [id, "line \(n)"])
        }
        return id
    }

    func logCount(_ store: Store, _ job: UUID) async throws -> Int64 {
        try await store.pool.one(PostgresQuery<Int64>("SELECT count(*) AS n FROM provisioner_job_logs WHERE job_id = \(job)", column: "n")) ?? -1
    }

    func count(_ store: Store, _ table: String) async throws -> Int64 {
        try await store.pool.one(PostgresQuery<Int64>("SELECT count(*) AS n FROM \(unescaped: table)", column: "n")) ?? -1
    }

    @Test func eachRetentionDeletesWhatIsPastItAndKeepsTheRest() async throws {
        try await withStore { store, _ in
            let f = try await Fixture.make(store)
            let old = try await finishedJob(f, daysAgo: 100, lines: 3)
            let recent = try await finishedJob(f, daysAgo: 10, lines: 2)
            // A workspace whose only build is old: its latest build keeps its logs; an older
            // build of another workspace does not.
            let (_, latest) = try await f.workspace("kept")
            _ = try await finishedJob(f, daysAgo: 100, lines: 4, build: latest)
            let (other, first) = try await f.workspace("rebuilt")
            _ = try await finishedJob(f, daysAgo: 100, lines: 5, build: first)
            let second = try await f.build(other, "start")
            _ = try await finishedJob(f, daysAgo: 1, lines: 1, build: second)

            for days in [100, 10] {
                try await store.pool.query(
                    "INSERT INTO audit_logs (id, time, resource_type, resource_id, action, status_code, request_id) VALUES ($1, now() - $2 * interval '1 day', 'group', $1, 'create', 200, $1)",
                    [UUID(), Int64(days)]
                )
            }
            for (name, seenDaysAgo, connected) in [("stale", 8, false), ("fresh", 1, false), ("connected-stale", 8, true)] {
                try await store.pool.query(
                    "INSERT INTO provisioner_daemons (id, name, organization_id, provisioners, last_seen_at, connected) VALUES ($1, $2, $3, '{echo}', now() - $4 * interval '1 day', $5)",
                    [UUID(), name, f.organization.id, Int64(seenDaysAgo), connected]
                )
            }
            // Never seen, created long ago.
            try await store.pool.query(
                "INSERT INTO provisioner_daemons (id, name, organization_id, provisioners, created_at) VALUES ($1, 'never', $2, '{echo}', now() - interval '30 days')",
                [UUID(), f.organization.id]
            )

            let policy = RetentionPolicy(jobLogs: .seconds(30 * 86_400), auditLogs: .seconds(30 * 86_400), daemons: .seconds(7 * 86_400), replicas: .seconds(86_400))
            let counts = try #require(try await store.purge(policy))
            #expect(counts.jobsPurged == 2)
            #expect(counts.jobLogLines == 8)
            #expect(counts.auditLogs == 1)
            #expect(counts.daemons == 2)
            #expect(try await logCount(store, old) == 0)
            #expect(try await logCount(store, recent) == 2)
            #expect(try await logCount(store, latest.jobID) == 4)
            #expect(try await logCount(store, first.jobID) == 0)
            #expect(try await count(store, "audit_logs") == 1)
            let daemons = try await store.pool.all(PostgresQuery<String>("SELECT name FROM provisioner_daemons ORDER BY name", column: "name"))
            #expect(daemons == ["connected-stale", "fresh"])
            // Nothing is left to purge: a second round deletes nothing and skips marked jobs.
            #expect(try await store.purge(policy) == PurgeCounts())
            // The purged jobs themselves stay (their builds and versions refer to them).
            #expect(try await store.job(id: old) != nil)

            // Nil keeps everything.
            try await store.pool.query(
                "INSERT INTO audit_logs (id, time, resource_type, resource_id, action, status_code, request_id) VALUES ($1, now() - interval '400 days', 'group', $1, 'create', 200, $1)",
                [UUID()]
            )
            #expect(try await store.purge(RetentionPolicy(jobLogs: nil, auditLogs: nil, daemons: nil, replicas: nil)) == PurgeCounts())
            #expect(try await count(store, "audit_logs") == 2)
        }
    }

    @Test func aPurgeRunningElsewhereIsNotJoined() async throws {
        try await withStore { store, db in
            try await withPool(.init(connectionString: db.url, maximumConnections: 1)) { other in
                try await other.withTransaction { connection in
                    let held = try connection.one(PostgresQuery<Bool>("SELECT pg_try_advisory_xact_lock(hashtextextended('coordinator.retention', 0)) AS locked", column: "locked"))
                    #expect(held == true)
                    // While the other session holds the lock, this purge skips its round.
                    let skipped = try await store.purge(RetentionPolicy())
                    #expect(skipped == nil)
                }
            }
            #expect(try await store.purge(RetentionPolicy()) == PurgeCounts())
        }
    }
}
