import Foundation
import ProvisionerProtocol
import WireFormat

/// Runs a template archive whose `manifest.json` says what to pretend:
///
/// ```json
/// {"resources": [{"name": "dev", "type": "docker_container", "daily_cost": 5}],
///  "stop_daily_cost": 1, "logs": ["pulling image", "starting"], "plan_ms": 50, "apply_ms": 100, "fail": null}
/// ```
///
/// An import reports the resources; a build plans, commits quota (a start for the resources'
/// cost, a stop for `stop_daily_cost`, a delete never), applies and completes with the
/// resources and a state naming the transition.
public struct EchoProvisioner: Provisioner {
    public let name = "echo"

    struct Manifest: Decodable {
        var resources: [Resource]?
        var logs: [String]?
        var plan_ms: Int?
        var apply_ms: Int?
        var fail: String?
        /// What a stopped workspace keeps costing a day (its persistent resources, a disk say).
        var stop_daily_cost: Int64?
    }

    public init() {}

    public func run(_ input: ProvisionerJobInput, progress: any ProvisionerProgress) async throws -> JobResult {
        guard let data = TarArchive.file(named: "manifest.json", in: input.archive) else {
            throw ProvisionerFailure("the template archive has no manifest.json")
        }
        let manifest: Manifest
        do {
            manifest = try WireJSON.decode(Manifest.self, from: Data(data))
        } catch {
            throw ProvisionerFailure("manifest.json is not valid: \(error)")
        }
        let resources = manifest.resources ?? []
        if input.type == "template_version_import" {
            // An import takes the manifest's durations and logs too, so that tests can catch it mid-job.
            if try await progress.log([LogLine(stage: "Parsing template", output: "found \(resources.count) resources")]) { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(manifest.plan_ms ?? 0))
            for line in manifest.logs ?? [] {
                if try await progress.log([LogLine(stage: "Parsing template", output: line)]) { throw CancellationError() }
            }
            try await Task.sleep(for: .milliseconds(manifest.apply_ms ?? 0))
            if let failure = manifest.fail { throw ProvisionerFailure(failure) }
            return JobResult(resources: resources)
        }
        let transition = input.transition ?? "start"
        if try await progress.log([LogLine(stage: "Planning", output: "planning \(transition)")]) { throw CancellationError() }
        try await Task.sleep(for: .milliseconds(manifest.plan_ms ?? 0))
        // A manifest is input like any other: a sum that would overflow is refused, not trapped on.
        var cost: Int64 = 0
        if transition == "start" {
            for resource in resources {
                let (sum, overflow) = cost.addingReportingOverflow(resource.dailyCost)
                guard !overflow, resource.dailyCost >= 0 else { throw ProvisionerFailure("the manifest's daily costs are out of range") }
                cost = sum
            }
        }
        if transition == "stop" {
            cost = manifest.stop_daily_cost ?? 0
            guard cost >= 0 else { throw ProvisionerFailure("the manifest's daily costs are out of range") }
        }
        // Start and stop builds commit their cost (a stop what its persistent resources cost, as
        // in Coder); delete builds never do.
        if transition != "delete" {
            guard try await progress.commitQuota(dailyCost: cost) else {
                throw ProvisionerFailure("insufficient quota")
            }
        }
        for line in manifest.logs ?? [] {
            if try await progress.log([LogLine(stage: "Applying", output: line)]) { throw CancellationError() }
        }
        try await Task.sleep(for: .milliseconds(manifest.apply_ms ?? 0))
        if let failure = manifest.fail { throw ProvisionerFailure(failure) }
        let state = Data("echo:\(transition)".utf8).base64EncodedString()
        return JobResult(resources: transition == "start" ? resources : [], state: state)
    }
}
