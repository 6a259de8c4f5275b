import Foundation
import Postgres
import ProvisionerProtocol

/// A resource a job reported: the protocol's own `Resource`; costs are checked against
/// `ProvisionerLimits.dailyCostRange` before they get here.
public typealias JobResource = Resource

/// A stored resource as the API reads it (Coder's `WorkspaceResource`): an import's carry the
/// transition `start`, a build's the build's.
public struct WorkspaceResource: Sendable, Equatable {
    public var id: UUID
    public var createdAt: Date
    public var jobID: UUID
    public var transition: String
    public var type: String
    public var name: String
    public var dailyCost: Int64
}

/// The `workspace_resources` table's statements.
enum WorkspaceResources {
    static func insert(_ resource: JobResource, jobID: UUID, transition: String) -> PostgresQuery<Void> {
        PostgresQuery(
            """
            INSERT INTO workspace_resources (id, job_id, transition, type, name, daily_cost)
            VALUES (\(UUID()), \(jobID), \(transition), \(resource.type), \(resource.name), \(resource.dailyCost))
            """
        )
    }

    /// By name.
    static func ofJob(_ jobID: UUID) -> PostgresQuery<JobResource> {
        PostgresQuery("SELECT name, type, daily_cost FROM workspace_resources WHERE job_id = \(jobID) ORDER BY name") { row in
            JobResource(name: try row.decode("name"), type: try row.decode("type"), dailyCost: try row.decode("daily_cost"))
        }
    }

    /// Every row of a job, by name (Coder's order); rows of one name by transition, then as stored.
    static func rowsOfJob(_ jobID: UUID) -> PostgresQuery<WorkspaceResource> {
        PostgresQuery(
            """
            SELECT id, created_at, job_id, transition, type, name, daily_cost FROM workspace_resources
            WHERE job_id = \(jobID) ORDER BY name, transition, created_at, id
            """
        ) { row in
            WorkspaceResource(
                id: try row.decode("id"), createdAt: try row.decode("created_at"), jobID: try row.decode("job_id"),
                transition: try row.decode("transition"), type: try row.decode("type"), name: try row.decode("name"),
                dailyCost: try row.decode("daily_cost")
            )
        }
    }
}
