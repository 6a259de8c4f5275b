import Foundation
import Postgres
import ProvisionerProtocol

/// A resource a job reported: the protocol's own `Resource`; costs are checked against
/// `ProvisionerLimits.dailyCostRange` before they get here.
public typealias JobResource = Resource

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
}
