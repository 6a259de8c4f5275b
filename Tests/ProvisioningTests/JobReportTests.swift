import Foundation
import Provisioning
import ProvisionerProtocol
import Store
import Testing

@Suite struct JobReportTests {
    @Test func costsAtTheEdgesOfTheRange() {
        let top = Int64(Int32.max)
        let fine = JobReport.validate(JobResult(resources: [Resource(name: "a", type: "vm", dailyCost: top), Resource(name: "b", type: "vm", dailyCost: 0)]))
        #expect(fine == .valid(resources: [JobResource(name: "a", type: "vm", dailyCost: top), JobResource(name: "b", type: "vm", dailyCost: 0)], state: nil))
        for cost in [Int64(-1), top + 1, Int64.min, Int64.max] {
            guard case .invalid(let reason) = JobReport.validate(JobResult(resources: [Resource(name: "x", type: "vm", dailyCost: cost)])) else {
                Issue.record("cost \(cost) accepted"); continue
            }
            #expect(reason.contains("daily_cost \(cost)"))
        }
    }

    @Test func tooManyResourcesOrBadNames() {
        let many = (0...ProvisionerLimits.maxResources).map { Resource(name: "r\($0)", type: "vm") }
        #expect(JobReport.validate(JobResult(resources: many)) != .valid(resources: [], state: nil))
        if case .valid = JobReport.validate(JobResult(resources: many)) { Issue.record("too many resources accepted") }
        if case .valid = JobReport.validate(JobResult(resources: [Resource(name: "a\u{0}b", type: "vm")])) { Issue.record("NUL accepted") }
        if case .valid = JobReport.validate(JobResult(resources: [Resource(name: String(repeating: "n", count: 257), type: "vm")])) { Issue.record("long name accepted") }
    }

    @Test func statesThatDoNotDecodeOrDoNotFit() {
        #expect(JobReport.validate(JobResult(resources: [], state: "c3RhdGU=")) == .valid(resources: [], state: Array("state".utf8)))
        if case .valid = JobReport.validate(JobResult(resources: [], state: "not base64!")) { Issue.record("garbage state accepted") }
        let big = Data(count: ProvisionerLimits.maxStateBytes + 1).base64EncodedString()
        if case .valid = JobReport.validate(JobResult(resources: [], state: big)) { Issue.record("oversized state accepted") }
        #expect(JobReport.state(big) == nil)
        #expect(JobReport.state("c3RhdGU=") == Array("state".utf8))
    }

    @Test func errorTextIsBoundedAndWithoutNUL() {
        #expect(JobReport.errorText("a\u{0}b") == "a\u{FFFD}b")
        let long = JobReport.errorText(String(repeating: "e", count: JobReport.maxErrorBytes * 2))
        #expect(long.utf8.count <= JobReport.maxErrorBytes + 3)
    }
}

@Suite struct JobLogBudgetTests {
    func lines(_ count: Int, size: Int = 1) -> [JobLogLine] {
        (0..<count).map { _ in JobLogLine(output: String(repeating: "x", count: size)) }
    }

    @Test func linesPastTheLineCapAreDroppedWithOneNotice() {
        var budget = JobLogBudget(limits: JobLogLimits(maxLines: 5, maxBytes: 1 << 20), lines: 0, bytes: 0, truncated: false)
        let first = budget.admit(lines(4))
        #expect(first.kept.count == 4)
        #expect(first.notice == nil)
        let second = budget.admit(lines(4))
        #expect(second.kept.count == 1)
        #expect(second.notice?.output.contains("log limit") == true)
        #expect(budget.truncated)
        let third = budget.admit(lines(4))
        #expect(third.kept.isEmpty)
        #expect(third.notice == nil)
        #expect(budget.lines == 5)
    }

    @Test func bytesPastTheByteCapAreDropped() {
        var budget = JobLogBudget(limits: JobLogLimits(maxLines: 100, maxBytes: 10), lines: 0, bytes: 0, truncated: false)
        let admitted = budget.admit(lines(3, size: 4))
        #expect(admitted.kept.count == 2)
        #expect(admitted.notice != nil)
        #expect(budget.bytes == 8)
    }

    @Test func countersCarryOverFromTheDatabase() {
        var budget = JobLogBudget(limits: JobLogLimits(maxLines: 3, maxBytes: 100), lines: 3, bytes: 3, truncated: false)
        let admitted = budget.admit(lines(1))
        #expect(admitted.kept.isEmpty)
        #expect(admitted.notice != nil)
    }

    @Test func unknownLevelsBecomeInfo() {
        var budget = JobLogBudget(limits: JobLogLimits(), lines: 0, bytes: 0, truncated: false)
        let kept = budget.admit([JobLogLine(level: String(repeating: "x", count: 1 << 20), output: "a"), JobLogLine(level: "warn", output: "b")]).kept
        #expect(kept.map(\.level) == ["info", "warn"])
    }

    @Test func nulIsReplaced() {
        var budget = JobLogBudget(limits: JobLogLimits(), lines: 0, bytes: 0, truncated: false)
        #expect(budget.admit([JobLogLine(stage: "a\u{0}", output: "b\u{0}c")]).kept.first?.output == "b\u{FFFD}c")
    }
}

@Suite struct ProvisionerTagListTests {
    @Test func parsesAsCoderDoes() throws {
        #expect(try ProvisionerTagList.parse(["a=b", "c==d", "e="]) == ["a": "b", "c": "=d", "e": ""])
        #expect(throws: ProvisionerTagList.Problem.malformed("novalue")) { try ProvisionerTagList.parse(["novalue"]) }
        #expect(throws: ProvisionerTagList.Problem.malformed("=v")) { try ProvisionerTagList.parse(["=v"]) }
    }

    @Test func limitsKeepAnnouncementsUnderNotifysPayloadLimit() throws {
        #expect(throws: ProvisionerTagList.Problem.tooMany(ProvisionerLimits.maxTags + 1)) {
            try ProvisionerTagList.parse((0...ProvisionerLimits.maxTags).map { "k\($0)=v" })
        }
        #expect(throws: (any Error).self) { try ProvisionerTagList.parse(["k=" + String(repeating: "v", count: ProvisionerLimits.maxTagValueBytes + 1)]) }
        #expect(throws: (any Error).self) { try ProvisionerTagList.parse([String(repeating: "k", count: ProvisionerLimits.maxTagKeyBytes + 1) + "=v"]) }
        #expect(throws: (any Error).self) { try ProvisionerTagList.parse(["k=a\u{0}b"]) }
        // The largest accepted set, normalized, in a job announcement: under 8000 bytes.
        var tags = Dictionary(uniqueKeysWithValues: (0..<ProvisionerLimits.maxTags).map {
            (String(format: "%0\(ProvisionerLimits.maxTagKeyBytes)d", $0), String(repeating: "\u{00E9}", count: ProvisionerLimits.maxTagValueBytes / 2))
        })
        try ProvisionerTagList.check(tags)
        tags = ProvisionerTags.normalize(tags.merging(["scope": "user"]) { a, _ in a }, userID: UUID())
        let payload = try JSONSerialization.data(withJSONObject: [
            "organization_id": UUID().uuidString, "provisioner": "terraform", "tags": tags,
        ])
        #expect(payload.count < 8000)
    }
}
