import TestSupport
import Foundation
import HTTPTypes
import Store
import Testing
import WireFormat
@testable import API

/// Issue #20: the CPU work of a SCIM PATCH (merging and removing values of a multi-valued
/// attribute) and of a `/Bulk` request (ordering operations by their `bulkId` references) grows
/// linearly with the request, and a PATCH carrying more values than an attribute may hold is
/// refused before any work. The work is counted (`SCIMWorkCounter`, `SCIMBulkSchedule.steps`),
/// never timed.
/// One test at a time: each is seconds of synchronous work in a debug build, and holds a thread
/// of the cooperative pool (two on this machine) that the in-process servers of other tests share.
@Suite(.serialized) struct SCIMWorkTests {
    // MARK: PATCH: merging by identity

    @Test func addingSixThousandDistinctEmailsCountsLinearWork() throws {
        let count = 6_000
        let emails = (0..<count).map { ["value": "user\($0)@example.com", "type": "work"] }
        let patch = try SCIMPatch(body: json(["Operations": [["op": "add", "path": "emails", "value": emails]]]))
        let resource: [String: JSONValue] = ["userName": "a@example.com", "emails": .array([.object(["value": "USER1@example.com"])])]
        let counter = SCIMWorkCounter()
        let patched = try patch.apply(to: resource, document: SCIMUserResource.document, counter: counter)
        // user1 was there already (the same value, case-insensitively): 5,999 added to it.
        let merged = try #require(patched["emails"]?.arrayValue)
        #expect(merged.count == count)
        #expect(merged.first == .object(["value": "USER1@example.com"]))
        #expect(merged.last?.objectValue?["value"] == .string("user\(count - 1)@example.com"))
        // Comparing each with those before it was about count²/2 = 18 million comparisons.
        #expect(counter.count < 4 * count)
        // As a request the PATCH is refused before the resource is read, with the error the
        // result would have had (a user's attribute holds at most 100 values).
        let refused = scimError { _ = try SCIMPatch(body: json(["Operations": [["op": "add", "path": "emails", "value": emails]]]), document: SCIMUserResource.document) }
        #expect(refused?.status == HTTPResponse.Status.badRequest && refused?.scimType == "invalidValue")
    }

    @Test func limitsCountEveryOperationOfThePatch() throws {
        func refusal(_ operations: [[String: Any]], _ document: SCIMDocument = SCIMUserResource.document) throws -> SCIMError? {
            let body = try json(["Operations": operations])
            return scimError { _ = try SCIMPatch(body: body, document: document) }
        }
        let sixty = (0..<60).map { ["value": "a\($0)@example.com"] }
        let others = (0..<60).map { ["value": "b\($0)@example.com"] }
        // Within the limit: accepted (the result is still checked when it is written).
        #expect(try refusal([["op": "add", "path": "emails", "value": sixty]]) == nil)
        #expect(try refusal([["op": "replace", "path": "phoneNumbers", "value": sixty], ["op": "add", "path": "emails", "value": sixty]]) == nil)
        // Together over it: refused, whichever way the values come.
        #expect(try refusal([["op": "add", "path": "emails", "value": sixty], ["op": "Add", "path": "EMAILS", "value": others]])?.scimType == "invalidValue")
        #expect(try refusal([["op": "replace", "value": ["emails": sixty + others]]])?.scimType == "invalidValue")
        #expect(try refusal([["op": "remove", "path": "emails", "value": sixty + others]])?.scimType == "invalidValue")
        // A replace leaves only its own values: two replaces of sixty hold sixty; an add after one adds to it.
        #expect(try refusal([["op": "replace", "path": "emails", "value": sixty], ["op": "replace", "path": "emails", "value": others]]) == nil)
        #expect(try refusal([["op": "replace", "path": "emails", "value": sixty], ["op": "add", "path": "emails", "value": others]])?.scimType == "invalidValue")
        // The seed's PATCH, a plain resource.
        let plain = scimError { _ = try SCIMPatch(body: try json(["userName": "a", "emails": sixty + others]), document: SCIMUserResource.document) }
        #expect(plain?.scimType == "invalidValue")
        // Paths that name nothing are left to `apply`, which says what is wrong with them.
        #expect(try refusal([["op": "add", "path": "nosuch", "value": sixty + others]]) == nil)
        // A group holds 10,000 members: `tooMany`, as the result would say.
        let members = (0...10_000).map { _ in ["value": UUID().uuidString] }
        #expect(try refusal([["op": "add", "path": "members", "value": members]], SCIMGroupResource.document)?.scimType == "tooMany")
        #expect(try refusal([["op": "add", "path": "members", "value": Array(members.prefix(5_001))], ["op": "add", "path": "members", "value": Array(members.suffix(5_000))]], SCIMGroupResource.document)?.scimType == "tooMany")
        #expect(try refusal([["op": "add", "path": "members", "value": Array(members.prefix(10_000))]], SCIMGroupResource.document) == nil)
        #expect(try refusal([["op": "remove", "path": "members", "value": members]], SCIMGroupResource.document)?.scimType == "tooMany")
    }

    @Test func addingFiveThousandMembersCountsLinearWork() throws {
        let count = 5_000
        let ids = (0..<count).map { _ in UUID().uuidString.lowercased() }
        let patch = try SCIMPatch(
            body: json(["Operations": [["op": "add", "path": "members", "value": ids.map { ["value": $0] }]]]),
            document: SCIMGroupResource.document
        )
        let counter = SCIMWorkCounter()
        let existing: [String: JSONValue] = ["displayName": "Big", "members": .array(ids.prefix(10).map { .object(["value": .string($0.uppercased())]) })]
        let patched = try patch.apply(to: existing, document: SCIMGroupResource.document, counter: counter)
        #expect(patched["members"]?.arrayValue?.count == count)
        #expect(counter.count < 4 * count)
        let write = try SCIMGroupResource.write(patched)
        #expect(write.memberIDs.count == count)
    }

    @Test func aRunOfFilteredRemovesIsOnePassOverTheMembers() throws {
        let ids = (0..<10_000).map { _ in UUID().uuidString.lowercased() }
        let group: [String: JSONValue] = ["displayName": "Big", "members": .array(ids.map { .object(["value": .string($0)]) })]
        // Entra's filtered remove, one operation per member, 1,000 of them (uppercase: values
        // compare case-insensitively).
        let doomed = Array(ids.prefix(1_000))
        let operations = doomed.map { ["op": "Remove", "path": "members[value eq \"\($0.uppercased())\"]"] }
        let counter = SCIMWorkCounter()
        let patched = try SCIMPatch(body: json(["Operations": operations]), document: SCIMGroupResource.document)
            .apply(to: group, document: SCIMGroupResource.document, counter: counter)
        #expect(patched["members"]?.arrayValue?.compactMap { $0.objectValue?["value"]?.string } == Array(ids.dropFirst(1_000)))
        // One pass: members plus the values removed, not 1,000 passes over 10,000 members.
        #expect(counter.count <= ids.count + doomed.count)
        // The same as one filter at a time, through the general value-path code (`and value pr`
        // keeps it off the fast path and matches the same members).
        var oneByOne = group
        for id in doomed.prefix(20) {
            oneByOne = try SCIMPatch(body: json(["Operations": [["op": "remove", "path": "members[value eq \"\(id)\" and value pr]"]]]))
                .apply(to: oneByOne, document: SCIMGroupResource.document)
        }
        let batched = try SCIMPatch(body: json(["Operations": doomed.prefix(20).map { ["op": "remove", "path": "members[value eq \"\($0)\"]"] }]))
            .apply(to: group, document: SCIMGroupResource.document)
        #expect(batched == oneByOne)
        // Removing every member leaves the attribute unassigned, as one at a time did.
        let all = try SCIMPatch(body: json(["Operations": ids.prefix(3).map { ["op": "remove", "path": "members[value eq \"\($0)\"]"] }]))
            .apply(to: ["displayName": "Small", "members": .array(ids.prefix(3).map { .object(["value": .string($0)]) })], document: SCIMGroupResource.document)
        #expect(all["members"] == nil)
    }

    @Test func aRunOfSingleMemberAddsIsOneMerge() throws {
        let existing = (0..<10_000 - 1_000).map { _ in UUID().uuidString.lowercased() }
        let added = (0..<1_000).map { _ in UUID().uuidString.lowercased() }
        let group: [String: JSONValue] = ["displayName": "Big", "members": .array(existing.map { .object(["value": .string($0)]) })]
        // Entra adds members one operation each.
        let operations = added.map { ["op": "Add", "path": "members", "value": [["value": $0]]] }
        let counter = SCIMWorkCounter()
        let patched = try SCIMPatch(body: json(["Operations": operations]), document: SCIMGroupResource.document)
            .apply(to: group, document: SCIMGroupResource.document, counter: counter)
        #expect(patched["members"]?.arrayValue?.compactMap { $0.objectValue?["value"]?.string } == existing + added)
        // One merge: the members and the values once, not 1,000 merges over 9,000 members.
        #expect(counter.count <= existing.count + added.count)
    }

    @Test func aPatchThatWouldWorkPastItsBudgetIsRefusedBetweenOperations() throws {
        let ids = (0..<10_000).map { _ in UUID().uuidString.lowercased() }
        let group: [String: JSONValue] = ["displayName": "Big", "members": .array(ids.map { .object(["value": .string($0)]) })]
        // Filters the fast path cannot take, a thousand of them: each compares every member.
        let operations = (0..<1_000).map { index in ["op": "remove", "path": "members[value eq \"\(ids[index])\" or value eq \"x\"]"] }
        let patch = try SCIMPatch(body: json(["Operations": operations]), document: SCIMGroupResource.document)
        let counter = SCIMWorkCounter()
        let refused = scimError { _ = try patch.apply(to: group, document: SCIMGroupResource.document, counter: counter) }
        #expect(refused?.scimType == "tooMany")
        // Stopped at the budget plus one operation's work, not 10⁷ comparisons.
        #expect(counter.count <= SCIMLimits.maximumPatchWork + ids.count)
        // A few of them are well within it.
        #expect(try SCIMPatch(body: json(["Operations": Array(operations.prefix(10))]), document: SCIMGroupResource.document)
            .apply(to: group, document: SCIMGroupResource.document)["members"]?.arrayValue?.count == ids.count - 10)
    }

    /// The definition the sets replace: each element compared with the others.
    static func comparedSame(_ a: JSONValue, _ b: JSONValue) -> Bool {
        let lhs = a.objectValue.flatMap { object in SCIMDocument.key("value", in: object).flatMap { object[$0] } }
        let rhs = b.objectValue.flatMap { object in SCIMDocument.key("value", in: object).flatMap { object[$0] } }
        if let lhs, let rhs {
            if let l = lhs.string, let r = rhs.string { return l.caseInsensitiveCompare(r) == .orderedSame }
            return lhs == rhs
        }
        return a == b
    }

    @Test func setsMergeAndRemoveAsComparingEachWithEveryOtherDid() {
        let pool: [JSONValue] = [
            .object(["value": "a@x.com"]), .object(["value": "A@X.com", "type": "work"]), .object(["Value": "b@X.COM"]),
            .object(["value": "b@x.com", "primary": true]), .object(["value": .int(1)]), .object(["value": .double(1)]),
            .object(["value": .int(2), "type": "home"]), .object(["value": .null]), .object(["type": "home"]),
            .object(["type": "home"]), .object(["type": "work", "display": "w"]), .object(["display": "w", "type": "work"]),
            .object(["value": .array(["a", .int(1)])]), .object(["value": .object(["k": "v"])]), .object([:]),
            "plain", "PLAIN", .int(7), .bool(true), .null, .array(["a"]),
        ]
        var random = SplitMix64(seed: 20)
        for _ in 0..<1_000 {
            let existing = (0..<Int.random(in: 0...8, using: &random)).map { _ in pool.randomElement(using: &random)! }
            let other = (0..<Int.random(in: 0...8, using: &random)).map { _ in pool.randomElement(using: &random)! }
            var merged = existing
            for element in other where !merged.contains(where: { Self.comparedSame($0, element) }) { merged.append(element) }
            #expect(SCIMPatch.merging(other, into: existing) == merged)
            let kept = existing.filter { element in !other.contains { Self.comparedSame($0, element) } }
            #expect(SCIMPatch.without(other, in: existing) == kept)
            for a in existing {
                for b in other { #expect(SCIMPatch.sameElement(a, b) == Self.comparedSame(a, b)) }
            }
        }
    }

    // MARK: PATCH over HTTP

    @Test func aPatchOfSixThousandEmailsIsRefusedAndStoresNothing() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            _ = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            let created = try await scim.create("many@example.com")
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            let emails = (0..<6_000).map { ["value": "user\($0)@example.com"] }
            let response = try await scim(.patch, "/Users/\(id)", ["Operations": [["op": "add", "path": "emails", "value": emails]]])
            #expect(try response.status == .badRequest && response.scimType == "invalidValue" && response.isSCIMError)
            let after = try await scim(.get, "/Users/\(id)")
            #expect(after.status == .ok)
            #expect(try (after.json["emails"] as? [[String: Any]])?.count == 1)
            #expect(after.headers[.eTag] == created.headers[.eTag])
            #expect(try await client.request(.get, "/healthz").status == .ok)
        }
    }

    @Test func aGroupPatchOfTenThousandAndOneMembersIsRefusedAndStoresNothing() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            _ = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            let user = try await scim.create("member@example.com")
            #expect(user.status == .created)
            let member = try #require(try user.json["id"] as? String)
            let created = try await scim(.post, "/Groups", ["displayName": "Crowd", "members": [["value": member]]])
            #expect(created.status == .created)
            let id = try #require(try created.json["id"] as? String)
            let members = (0...10_000).map { _ in ["value": UUID().uuidString] }
            let response = try await scim(.patch, "/Groups/\(id)", ["Operations": [["op": "add", "path": "members", "value": members]]])
            #expect(try response.status == .badRequest && response.scimType == "tooMany" && response.isSCIMError)
            let after = try await scim(.get, "/Groups/\(id)")
            #expect(after.status == .ok)
            #expect(try (after.json["members"] as? [[String: Any]])?.compactMap { $0["value"] as? String } == [member])
            #expect(after.headers[.eTag] == created.headers[.eTag])
        }
    }

    // MARK: Bulk: the schedule

    static func operation(_ method: HTTPRequest.Method = .post, bulkID: String?, references: [String]) -> SCIMBulkController.Operation {
        let data: JSONValue = .object([
            "displayName": "x",
            "members": .array(references.map { .object(["value": .string("bulkId:\($0)")]) }),
        ])
        let path = method == .post ? "/Groups" : "/Groups/\(UUID().uuidString)"
        return SCIMBulkController.Operation(method: method, bulkID: bulkID, version: nil, path: path, data: data)
    }

    @Test func aChainOfAThousandReferencesIsScheduledInLinearSteps() {
        let count = SCIMBulkController.maxOperations
        // Each names the next: the last runs first, then the one before it, and so on.
        let operations = (0..<count).map { index in
            Self.operation(bulkID: "c\(index)", references: index + 1 < count ? ["c\(index + 1)"] : [])
        }
        var schedule = SCIMBulkSchedule(operations)
        var order: [Int] = []
        while let step = schedule.next() {
            guard case .run(let index) = step else {
                Issue.record("unexpected \(step)")
                break
            }
            order.append(index)
            schedule.finished(index, created: true)
        }
        #expect(order == Array((0..<count).reversed()))
        #expect(schedule.unresolved.isEmpty)
        // A few steps per operation and reference; the pass loop rebuilt the set of 1,000
        // bulkIds for each waiting operation of each of 1,000 passes (and scanned its data).
        #expect(schedule.steps <= 3 * (count + (count - 1)))
        // One operation per pass, each pass constant work.
        #expect(schedule.passes == count)
    }

    @Test func aFailureOrAnUnknownReferenceFailsThoseThatWaitAndCyclesAreLeft() {
        let operations = [
            Self.operation(bulkID: "a", references: ["b"]),  // waits for b, which fails
            Self.operation(bulkID: "b", references: []),
            Self.operation(.patch, bulkID: nil, references: ["nope"]),  // names no POST
            Self.operation(bulkID: "c", references: ["d"]),  // c and d wait for each other
            Self.operation(bulkID: "d", references: ["c"]),
            Self.operation(.patch, bulkID: nil, references: ["c"]),  // waits for the cycle
            Self.operation(bulkID: "e", references: ["e"]),  // names itself
        ]
        var schedule = SCIMBulkSchedule(operations)
        var steps: [SCIMBulkSchedule.Step] = []
        while let step = schedule.next() {
            steps.append(step)
            switch step {
            case .run(let index): schedule.finished(index, created: false)
            case .fail(let index, _): schedule.finished(index, created: false)
            }
        }
        #expect(steps == [.run(1), .fail(2, bulkID: "nope"), .fail(0, bulkID: "b")])
        #expect(schedule.unresolved == [3, 4, 5, 6])
    }

    /// The pass loop `/Bulk` ran before, without I/O: what ran or failed, in order, and what was
    /// left waiting (a cycle). `failing`: the operations whose run fails.
    static func passLoop(_ operations: [SCIMBulkController.Operation], failing: Set<Int>) -> (events: [String], cycle: [Int]) {
        var created: Set<String> = []
        var failed: Set<String> = []
        var pending = Array(operations.indices)
        var events: [String] = []
        while !pending.isEmpty {
            var progressed = false
            var waiting: [Int] = []
            for index in pending {
                let operation = operations[index]
                let unresolved = SCIMBulkController.references(in: operation).subtracting(created)
                if !unresolved.isEmpty {
                    let knowable = Set(operations.compactMap(\.bulkID)).subtracting(failed)
                    if unresolved.isSubset(of: knowable) { waiting.append(index); continue }
                    events.append("fail \(index)")
                    if let bulkID = operation.bulkID { failed.insert(bulkID) }
                } else {
                    events.append("run \(index)")
                    if let bulkID = operation.bulkID {
                        if failing.contains(index) { failed.insert(bulkID) } else { created.insert(bulkID) }
                    }
                }
                progressed = true
            }
            pending = waiting
            if !progressed { return (events, pending) }
        }
        return (events, [])
    }

    @Test func theScheduleRunsWhatThePassLoopRanInTheSameOrder() {
        var random = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let count = Int.random(in: 1...12, using: &random)
            let operations = (0..<count).map { index -> SCIMBulkController.Operation in
                let references = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                    Int.random(in: 0..<8, using: &random) == 0 ? "nope" : "b\(Int.random(in: 0..<count, using: &random))"
                }
                // Only POSTs have bulkIds here: the pass loop also waited for a PUT's or a PATCH's.
                let post = Int.random(in: 0..<10, using: &random) < 7
                return Self.operation(post ? .post : .patch, bulkID: post ? "b\(index)" : nil, references: references)
            }
            let failing = Set((0..<count).filter { _ in Int.random(in: 0..<5, using: &random) == 0 })
            let expected = Self.passLoop(operations, failing: failing)
            var schedule = SCIMBulkSchedule(operations)
            var events: [String] = []
            while let step = schedule.next() {
                switch step {
                case .run(let index):
                    events.append("run \(index)")
                    schedule.finished(index, created: operations[index].bulkID != nil && !failing.contains(index))
                case .fail(let index, _):
                    events.append("fail \(index)")
                    schedule.finished(index, created: false)
                }
            }
            #expect(events == expected.events)
            #expect(schedule.unresolved == expected.cycle)
            let references = operations.map { SCIMBulkController.references(in: $0).count }.reduce(0, +)
            #expect(schedule.steps <= 4 * (count + references))
        }
    }

    // MARK: Bulk over HTTP

    @Test func aBulkChainOfAThousandOperationsRunsThemAllAndTheReplicaStaysHealthy() async throws {
        try await withLicensedApp(scimKey: SCIMClient.key) { client, _, _ in
            _ = try await licensedOwner(client)
            let scim = SCIMClient(client: client)
            let count = SCIMBulkController.maxOperations
            // Each user's externalId names the next one's bulkId: they are created last to first.
            let operations: [[String: Any]] = (0..<count).map { index in
                var data: [String: Any] = ["userName": "chain\(index)@example.com"]
                if index + 1 < count { data["externalId"] = "bulkId:c\(index + 1)" }
                return ["method": "POST", "bulkId": "c\(index)", "path": "/Users", "data": data]
            }
            let response = try await scim(.post, "/Bulk", ["schemas": [SCIMBulkController.requestSchema], "Operations": operations])
            #expect(response.status == .ok)
            let results = try #require(try response.json["Operations"] as? [[String: Any]])
            #expect(results.count == count)
            #expect(results.allSatisfy { $0["status"] as? String == "201" })
            #expect(results.map { $0["bulkId"] as? String } == (0..<count).map { "c\($0)" })
            let ids = results.compactMap { ($0["location"] as? String)?.split(separator: "/").last.map(String.init) }
            try #require(ids.count == count)
            for index in [0, count / 2, count - 2] {
                let user = try await scim(.get, "/Users/\(ids[index])")
                #expect(user.status == .ok)
                #expect(try user.json["externalId"] as? String == ids[index + 1])
            }
            let last = try await scim(.get, "/Users/\(ids[count - 1])")
            #expect(last.status == .ok)
            #expect(try last.json["externalId"] == nil)
            // More than the limit is still refused whole, before anything runs.
            let tooMany = try await scim(.post, "/Bulk", ["Operations": operations + [["method": "DELETE", "path": "/Users/\(ids[0])"]]])
            #expect(try tooMany.status == .contentTooLarge && tooMany.scimType == "tooMany")
            #expect(try await scim(.get, "/Users/\(ids[0])").status == .ok)
            #expect(try await client.request(.get, "/healthz").status == .ok)
        }
    }
}

// MARK: Helpers

private func json(_ object: Any) throws -> JSONValue {
    try WireJSON.decode(JSONValue.self, from: JSONSerialization.data(withJSONObject: object))
}

/// The SCIM error `body` throws, or nil if it throws none (or another).
private func scimError(_ body: () throws -> Void) -> SCIMError? {
    do {
        try body()
        return nil
    } catch let error as SCIMError {
        return error
    } catch {
        return nil
    }
}

