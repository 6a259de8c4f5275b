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

/// Reads regular files out of a ustar/GNU tar archive (enough for template archives). The archive
/// is hostile input: a size that is negative, not octal, or past the end stops the reading (nil)
/// instead of looping or trapping.
public enum TarArchive {
    public static func file(named wanted: String, in archive: [UInt8]) -> [UInt8]? {
        var offset = 0
        while offset <= archive.count - 512 {
            let header = archive[offset..<offset + 512]
            if header.allSatisfy({ $0 == 0 }) { return nil }
            let name = string(header, 0, 100)
            let prefix = string(header, 345, 155)
            let sizeField = string(header, 124, 12).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
            guard !sizeField.isEmpty, sizeField.allSatisfy({ ("0"..."7").contains($0) }),
                  let size = Int(sizeField, radix: 8), size >= 0 else { return nil }
            let type = header[header.startIndex + 156]
            let fullName = prefix.isEmpty ? name : prefix + "/" + name
            let start = offset + 512
            guard size <= archive.count - start else { return nil }
            if (type == 0 || type == UInt8(ascii: "0")) && (fullName == wanted || fullName == "./" + wanted) {
                return Array(archive[start..<start + size])
            }
            offset = start + (size + 511) / 512 * 512
        }
        return nil
    }

    private static func string(_ block: ArraySlice<UInt8>, _ at: Int, _ length: Int) -> String {
        let bytes = block[(block.startIndex + at)..<(block.startIndex + at + length)].prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A one-file archive, for tests and examples.
    public static func make(name: String, contents: [UInt8]) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ at: Int) { for (i, b) in text.utf8.enumerated() { header[at + i] = b } }
        put(name, 0)
        put("0000644\0", 100)
        put("0000000\0", 108)
        put("0000000\0", 116)
        put(String(format: "%011o\0", contents.count), 124)
        put(String(format: "%011o\0", 0), 136)
        put("        ", 148)
        header[156] = UInt8(ascii: "0")
        put("ustar\0", 257)
        put("00", 263)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(String(format: "%06o\0 ", checksum), 148)
        var archive = header + contents
        archive += [UInt8](repeating: 0, count: (512 - contents.count % 512) % 512)
        archive += [UInt8](repeating: 0, count: 1024)
        return archive
    }
}
