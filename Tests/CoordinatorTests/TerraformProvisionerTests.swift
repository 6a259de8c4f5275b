import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Postgres
@testable import ProvisionerDaemon
import ProvisionerProtocol
import TestSupport
import Testing

/// Real Terraform (no mocks) run by an in-process daemon against an in-process replica: imports,
/// builds with their state carried from build to build, cancel, a quiet apply, and templates and
/// archives that must fail cleanly. Templates use only Terraform's builtin `terraform_data` and
/// `local-exec`, so they apply with no network. Each test writes into its own temporary folder.
/// One test at a time: each runs several real Terraform processes, and together they took the
/// CPU that the rest of the suite's servers needed.
@Suite(.serialized, .enabled(if: Terraform.isAvailable, "terraform is not on PATH: the Terraform provisioner cannot be run here"))
struct TerraformProvisionerTests: ProvisioningSuite {
    /// A template that creates one file per start in `directory` and removes it on stop or
    /// delete, at a cost of 1 a day while it exists.
    static func fileTemplate(_ directory: String) -> String {
        """
        variable "coder_workspace_start_count" {
          type = number
        }
        variable "coder_workspace_transition" {
          type = string
        }
        variable "coder_workspace_id" {
          type    = string
          default = ""
        }
        resource "terraform_data" "workspace" {
          count = var.coder_workspace_start_count
          input = { path = "\(directory)/workspace" }
          provisioner "local-exec" {
            command = "echo created by ${var.coder_workspace_transition} for ${var.coder_workspace_id} > '${self.input.path}'"
          }
          provisioner "local-exec" {
            when    = destroy
            command = "rm -f '${self.input.path}'"
          }
        }
        output "coder_daily_costs" {
          value = { for i, w in terraform_data.workspace : "terraform_data.workspace[${i}]" => 1 }
        }
        """
    }

    @Test func anImportListsWhatAStartWouldCreateAndBuildsCarryTheirStateFromStartToStopToDelete() async throws {
        let scratch = try Scratch()
        try await withSetUp(replicas: 1) { setup in
            let a = setup.cluster.members[0]
            try await withTerraformDaemon(a, scratch: scratch) { daemon in
                let versionID = try await postTemplate(setup, through: a, files: ["main.tf": Self.fileTemplate(scratch.path)])
                try await eventually("import succeeded", timeout: .seconds(60)) {
                    try await finished(setup, versionID, at: a) == "succeeded"
                }
                try await withPool(.init(connectionString: setup.cluster.databaseURL, maximumConnections: 1)) { pool in
                let importJob = try #require(UUID(uuidString: try await job(setup, versionID, at: a)["id"] as? String ?? ""))
                let imported = try await pool.query("SELECT name, type, daily_cost FROM workspace_resources WHERE job_id = $1", [importJob]).rows
                #expect(imported.count == 1, "\(daemon.log.suffix(3000))")
                #expect(try imported.first?.decode(0, as: String.self) == "workspace")
                #expect(try imported.first?.decode(1, as: String.self) == "terraform_data")
                #expect(try imported.first?.decode(2, as: Int64.self) == 1)
                #expect(!FileManager.default.fileExists(atPath: scratch.path + "/workspace"), "an import applies nothing")
                // The daemons list shows the Terraform the daemon runs, as its hello said.
                let listed = try #require(try await daemonList(setup, at: a).first { $0["name"] as? String == "d-tf" })
                let version = try #require((listed["provisioner_versions"] as? [String: String])?["terraform"], "\(listed)")
                #expect(version.split(separator: ".").count >= 3 && version.first?.isNumber == true, "\(version)")

                let workspaceID = try await createWorkspace(setup, versionID: versionID, at: a)
                let start = try await latestBuild(setup, workspaceID, at: a)
                try await eventually("start ended", timeout: .seconds(60)) { try await !["pending", "starting"].contains(buildStatus(setup, start, at: a)) }
                #expect(try await buildStatus(setup, start, at: a) == "running", "\(daemon.log.suffix(3000))")
                #expect(try String(contentsOfFile: scratch.path + "/workspace", encoding: .utf8) == "created by start for \(workspaceID)\n", "the template sees its workspace")
                let started = try await HTTP.request(.GET, "\(a.base)/api/v2/workspacebuilds/\(start)", token: setup.cluster.token)
                #expect(started.status == 200)
                #expect(try started.json["daily_cost"] as? Int == 1)
                let startState = try await state(pool, build: start)
                #expect(startState.contains("\"terraform_data\""), "the build's state is Terraform's")

                // Stop: start_count 0 destroys the instance, whose destroy-time provisioner removes the file.
                let stop = try await postBuild(setup, workspaceID, transition: "stop", at: a)
                try await eventually("stop done", timeout: .seconds(60)) { try await buildStatus(setup, stop, at: a) == "stopped" }
                #expect(!FileManager.default.fileExists(atPath: scratch.path + "/workspace"))
                #expect(try await state(pool, build: stop) != startState, "the stop's own state went back")

                // Start again from the stop's state, then delete: destroy removes it again.
                let again = try await postBuild(setup, workspaceID, transition: "start", at: a)
                try await eventually("second start done", timeout: .seconds(60)) { try await buildStatus(setup, again, at: a) == "running" }
                #expect(FileManager.default.fileExists(atPath: scratch.path + "/workspace"))
                let delete = try await postBuild(setup, workspaceID, transition: "delete", at: a)
                try await eventually("delete done", timeout: .seconds(60)) { try await buildStatus(setup, delete, at: a) == "deleted" }
                #expect(!FileManager.default.fileExists(atPath: scratch.path + "/workspace"))
                #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/work/d-tf/jobs").isEmpty, "each job's directory is removed")
                }
            }
        }
    }

    @Test func aCanceledApplyIsInterruptedItsSleepEndsAndItsStateIsKept() async throws {
        let scratch = try Scratch()
        // A sleep no other test runs, to find it among the processes.
        let marker = "600.\(Int.random(in: 100_000...999_999))"
        try await withSetUp(replicas: 1) { setup in
            let a = setup.cluster.members[0]
            try await withTerraformDaemon(a, scratch: scratch, extra: ["--terraform-cancel-grace", "5s"]) { daemon in
                let versionID = try await postTemplate(setup, through: a, files: ["main.tf": Self.slowTemplate(marker)])
                try await eventually("import succeeded", timeout: .seconds(60)) { try await finished(setup, versionID, at: a) == "succeeded" }
                let workspaceID = try await createWorkspace(setup, versionID: versionID, at: a)
                let start = try await latestBuild(setup, workspaceID, at: a)
                try await eventually("the sleep runs", timeout: .seconds(60)) { Processes.running(matching: "sleep \(marker)") }
                let cancel = try await HTTP.request(.PATCH, "\(a.base)/api/v2/workspacebuilds/\(start)/cancel", token: setup.cluster.token)
                #expect(cancel.status == 200, "\(String(decoding: cancel.body, as: UTF8.self))")
                try await eventually("canceled", timeout: .seconds(30)) { try await buildStatus(setup, start, at: a) == "canceled" }
                #expect(!Processes.running(matching: "sleep \(marker)"), "the canceled apply's sleep is gone")
                try await withPool(.init(connectionString: setup.cluster.databaseURL, maximumConnections: 1)) { pool in
                    let kept = try await state(pool, build: start)
                    #expect(kept.contains("made before the sleep"), "what the apply created before the cancel is in the state kept: \(daemon.log.suffix(2000))")
                }
            }
        }
    }

    /// Values given with a version reach Terraform (and its builds); `/variables` lists what
    /// the template declares, in Coder's shape, with a sensitive value never shown and the
    /// provisioner's own `coder_workspace_*` left out; a value of the wrong type fails the import
    /// with Terraform's words; values the coordinator cannot pass are refused at once.
    @Test func variablesGivenWithAVersionReachItsBuildsAndAreListedInCodersShape() async throws {
        let scratch = try Scratch()
        let template = """
        variable "coder_workspace_start_count" {
          type = number
        }
        variable "greeting" {
          type        = string
          description = "What the file says."
        }
        variable "copies" {
          type    = number
          default = 2
        }
        variable "token" {
          type      = string
          sensitive = true
          default   = "default-secret"
        }
        variable "untyped" {
          default = true
        }
        resource "terraform_data" "file" {
          count = var.coder_workspace_start_count
          input = "\(scratch.path)/greeting"
          provisioner "local-exec" {
            command = "echo '${var.greeting} x${var.copies}' > '${self.input}'"
          }
        }
        """
        try await withSetUp(replicas: 1) { setup in
            let a = setup.cluster.members[0]
            for (values, field) in [
                ([["name": "coder_workspace_name", "value": "x"]], "user_variable_values[0].name"),
                ([["name": "greeting", "value": "a"], ["name": "greeting", "value": "b"]], "user_variable_values[1].name"),
                ([["name": "bad name", "value": "a"]], "user_variable_values[0].name"),
            ] {
                let refused = try await postTemplateResponse(setup, through: a, files: ["main.tf": template], variables: values)
                #expect(refused.status == 400, "\(values)")
                #expect(try (refused.json["validations"] as? [[String: Any]])?.first?["field"] as? String == field, "\(String(decoding: refused.body, as: UTF8.self))")
            }
            try await withTerraformDaemon(a, scratch: scratch) { daemon in
                let wrongType = try await postTemplate(setup, through: a, files: ["main.tf": template], variables: [["name": "greeting", "value": "hi"], ["name": "copies", "value": "many"]])
                try await eventually("wrong-typed import ended", timeout: .seconds(60)) { try await finished(setup, wrongType, at: a) != nil }
                let failed = try await job(setup, wrongType, at: a)
                #expect(failed["status"] as? String == "failed")
                #expect((failed["error"] as? String ?? "").contains("copies"), "Terraform names the variable: \(failed["error"] ?? "")")

                let versionID = try await postTemplate(setup, through: a, files: ["main.tf": template], variables: [
                    ["name": "greeting", "value": "hello"], ["name": "token", "value": "s3cret-value"], ["name": "undeclared", "value": "dropped"],
                ])
                let early = try await HTTP.request(.GET, "\(a.base)/api/v2/templateversions/\(versionID)/variables", token: setup.cluster.token)
                #expect([200, 412].contains(early.status), "before the import ends: 412, after: the list")
                try await eventually("import succeeded", timeout: .seconds(60)) { try await finished(setup, versionID, at: a) == "succeeded" }
                let listed = try await HTTP.request(.GET, "\(a.base)/api/v2/templateversions/\(versionID)/variables", token: setup.cluster.token)
                #expect(listed.status == 200)
                let variables = try listed.jsonArray
                #expect(variables.map { $0["name"] as? String ?? "" } == ["copies", "greeting", "token", "untyped"], "by name: \(variables)")
                let byName = Dictionary(uniqueKeysWithValues: variables.map { ($0["name"] as? String ?? "", $0) })
                #expect(byName["greeting"]?["type"] as? String == "string")
                #expect(byName["greeting"]?["value"] as? String == "hello")
                #expect(byName["greeting"]?["description"] as? String == "What the file says.")
                #expect(byName["greeting"]?["required"] as? Bool == true)
                #expect(byName["copies"]?["type"] as? String == "number")
                #expect(byName["copies"]?["default_value"] as? String == "2")
                #expect(byName["copies"]?["required"] as? Bool == false)
                #expect(byName["token"]?["sensitive"] as? Bool == true)
                #expect(byName["token"]?["value"] as? String == "*redacted*")
                #expect(byName["token"]?["default_value"] as? String == "*redacted*")
                #expect(byName["untyped"]?["type"] as? String == "bool")
                #expect(!String(decoding: listed.body, as: UTF8.self).contains("s3cret-value"))

                let workspaceID = try await createWorkspace(setup, versionID: versionID, at: a)
                let start = try await latestBuild(setup, workspaceID, at: a)
                try await eventually("start ended", timeout: .seconds(60)) { try await !["pending", "starting"].contains(buildStatus(setup, start, at: a)) }
                #expect(try await buildStatus(setup, start, at: a) == "running", "\(daemon.log.suffix(3000))")
                #expect(try String(contentsOfFile: scratch.path + "/greeting", encoding: .utf8) == "hello x2\n", "the build ran with the version's values")
                let logs = try await HTTP.request(.GET, "\(a.base)/api/v2/workspacebuilds/\(start)/logs", token: setup.cluster.token)
                #expect(logs.status == 200)
                #expect(!String(decoding: logs.body, as: UTF8.self).contains("s3cret-value"), "a sensitive value reaches no log")
            }
        }
    }

    /// A template whose apply creates one resource, then sleeps (`marker` finds the sleep).
    static func slowTemplate(_ marker: String) -> String {
        """
        resource "terraform_data" "first" {
          input = "made before the sleep"
        }
        resource "terraform_data" "slow" {
          depends_on = [terraform_data.first]
          provisioner "local-exec" {
            command = "sleep \(marker)"
          }
        }
        """
    }

    /// SIGTERM mid-apply: the daemon interrupts Terraform as a cancel would, reports the build
    /// failed with the state it wrote, and exits 0; the sleep is gone.
    @Test func aDaemonStoppedMidApplyInterruptsTerraformKeepsTheStateAndExits() async throws {
        let scratch = try Scratch()
        let marker = "600.\(Int.random(in: 100_000...999_999))"
        try await withSetUp(replicas: 1) { setup in
            let a = setup.cluster.members[0]
            let versionID = try await withTerraformDaemon(a, scratch: scratch) { _ in
                let versionID = try await postTemplate(setup, through: a, files: ["main.tf": Self.slowTemplate(marker)])
                try await eventually("import succeeded", timeout: .seconds(60)) { try await finished(setup, versionID, at: a) == "succeeded" }
                return versionID
            }
            let daemon = try daemonProcess([a], name: "d-tf-term", extra: ["--provisioner", "terraform", "--work-dir", scratch.path + "/work", "--terraform-cancel-grace", "5s"])
            let workspaceID = try await createWorkspace(setup, versionID: versionID, at: a)
            let start = try await latestBuild(setup, workspaceID, at: a)
            try await eventually("the sleep runs", timeout: .seconds(60)) { Processes.running(matching: "sleep \(marker)") }
            daemon.signal(SIGTERM)
            #expect(try await daemon.waitForExit(timeout: .seconds(60)) == 0, "\(daemon.log.suffix(2000))")
            #expect(try await buildStatus(setup, start, at: a) == "failed")
            #expect(!Processes.running(matching: "sleep \(marker)"), "the interrupted apply's sleep is gone")
            try await withPool(.init(connectionString: setup.cluster.databaseURL, maximumConnections: 1)) { pool in
                let kept = try await state(pool, build: start)
                #expect(kept.contains("made before the sleep"), "the state written before the stop went back with the failure")
            }
        }
    }

    /// SIGKILL mid-apply: nothing of the daemon runs on, so Terraform must not either (it runs
    /// under a parent-death signal); the build fails when the orphan grace runs out, and the next
    /// build starts from the last state stored. It is not resumed elsewhere: another daemon has
    /// neither the plan nor the job's directory, and applying again would run the template's
    /// commands twice.
    @Test func aDaemonKilledMidApplyTakesTerraformWithItAndTheBuildFailsCleanly() async throws {
        let scratch = try Scratch()
        let marker = "600.\(Int.random(in: 100_000...999_999))"
        try await withSetUp(replicas: 1, extra: ["--job-orphan-grace", "2s"]) { setup in
            let a = setup.cluster.members[0]
            let versionID = try await withTerraformDaemon(a, scratch: scratch) { _ in
                let versionID = try await postTemplate(setup, through: a, files: ["main.tf": Self.slowTemplate(marker)])
                try await eventually("import succeeded", timeout: .seconds(60)) { try await finished(setup, versionID, at: a) == "succeeded" }
                return versionID
            }
            let daemon = try daemonProcess([a], name: "d-tf-kill", extra: ["--provisioner", "terraform", "--work-dir", scratch.path + "/work"])
            let workspaceID = try await createWorkspace(setup, versionID: versionID, at: a)
            let start = try await latestBuild(setup, workspaceID, at: a)
            try await eventually("the sleep runs", timeout: .seconds(60)) { Processes.running(matching: "sleep \(marker)") }
            // Terraform's own command line names its plan in the job's directory.
            let jobs = scratch.path + "/work/d-tf-kill/jobs/"
            #expect(Processes.running(matching: jobs), "Terraform runs the apply")
            daemon.signal(SIGKILL)
            _ = try await daemon.waitForExit(timeout: .seconds(30))
            try await eventually("Terraform died with its daemon", timeout: .seconds(10)) { !Processes.running(matching: jobs) }
            // Not yet ended with it: a template command Terraform had started (docs/provisioners.md).
            Processes.kill(matching: "sleep \(marker)")
            try await eventually("the build failed", timeout: .seconds(30)) { try await buildStatus(setup, start, at: a) == "failed" }
        }
    }

    @Test func aQuietApplyLongerThanTheHangTimeoutIsKeptAlive() async throws {
        let scratch = try Scratch()
        let template = """
        resource "terraform_data" "quiet" {
          provisioner "local-exec" {
            command = "sleep 9"
          }
        }
        """
        // Nine quiet seconds (Terraform's own "Still creating..." comes at ten) against a hang
        // timeout of four: the daemon's heartbeat, every third of it, is all that keeps the job.
        try await withSetUp(replicas: 1, extra: ["--job-hang-timeout", "4s"]) { setup in
            let a = setup.cluster.members[0]
            try await withTerraformDaemon(a, scratch: scratch) { daemon in
                let versionID = try await postTemplate(setup, through: a, files: ["main.tf": template])
                try await eventually("import succeeded", timeout: .seconds(60)) { try await finished(setup, versionID, at: a) == "succeeded" }
                let workspaceID = try await createWorkspace(setup, versionID: versionID, at: a)
                let start = try await latestBuild(setup, workspaceID, at: a)
                try await eventually("start ended", timeout: .seconds(60)) { try await !["pending", "starting"].contains(buildStatus(setup, start, at: a)) }
                #expect(try await buildStatus(setup, start, at: a) == "running", "\(daemon.log.suffix(3000))")
            }
        }
    }

    @Test(arguments: [
        ("a syntax error", ["main.tf": "resource \"terraform_data\" \"x\" {\n  input = \n}\n"], "terraform init failed"),
        ("an unknown provider", ["main.tf": "terraform {\n  required_providers {\n    aws = { source = \"hashicorp/aws\" }\n  }\n}\n"], "--terraform-plugin-dir"),
        ("a required variable without a value", ["main.tf": "variable \"region\" {\n  type = string\n}\n"], "region"),
    ])
    func aBrokenTemplateFailsTheImportWithTerraformsWords(_ case: String, files: [String: String], expected: String) async throws {
        let scratch = try Scratch()
        try await withSetUp(replicas: 1) { setup in
            let a = setup.cluster.members[0]
            try await withTerraformDaemon(a, scratch: scratch) { daemon in
                let versionID = try await postTemplate(setup, through: a, files: files)
                try await eventually("import ended", timeout: .seconds(60)) { try await finished(setup, versionID, at: a) != nil }
                let ended = try await job(setup, versionID, at: a)
                #expect(ended["status"] as? String == "failed", "\(`case`)")
                #expect((ended["error"] as? String ?? "").contains(expected), "\(`case`): \(ended["error"] ?? "")")
                #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/work/d-tf/jobs").isEmpty, "no directory is left behind")
            }
        }
    }

    @Test func anArchiveThatEscapesItsDirectoryIsRefusedAndTheDaemonTakesTheNextJob() async throws {
        let scratch = try Scratch()
        try await withSetUp(replicas: 1) { setup in
            let a = setup.cluster.members[0]
            try await withTerraformDaemon(a, scratch: scratch) { daemon in
                let hostile = try await postTemplate(setup, through: a, files: ["../escaped.tf": "# out", "main.tf": ""])
                try await eventually("hostile import ended", timeout: .seconds(60)) { try await finished(setup, hostile, at: a) != nil }
                let ended = try await job(setup, hostile, at: a)
                #expect(ended["status"] as? String == "failed")
                #expect((ended["error"] as? String ?? "").contains("refused"), "\(ended["error"] ?? "")")
                #expect(!FileManager.default.fileExists(atPath: scratch.path + "/work/d-tf/jobs/escaped.tf"))
                let next = try await postTemplate(setup, through: a, files: ["main.tf": "resource \"terraform_data\" \"x\" {}\n"])
                try await eventually("next import succeeded", timeout: .seconds(60)) { try await finished(setup, next, at: a) == "succeeded" }
            }
        }
    }

    /// A Terraform that hangs (a `local-exec` sleeping far past the job's time) is ended by
    /// `--terraform-timeout` as a cancel would be: the build fails saying so, the sleep is gone,
    /// the state written before it is kept, no job directory is left, and the daemon takes the
    /// next job.
    @Test func aHangingApplyIsEndedByTheJobsTimeout() async throws {
        let scratch = try Scratch()
        let marker = "3600.\(Int.random(in: 100_000...999_999))"
        try await withSetUp(replicas: 1) { setup in
            let a = setup.cluster.members[0]
            try await withTerraformDaemon(a, scratch: scratch, extra: ["--terraform-timeout", "8s", "--terraform-cancel-grace", "2s"]) { daemon in
                let versionID = try await postTemplate(setup, through: a, files: ["main.tf": Self.slowTemplate(marker)])
                try await eventually("import succeeded", timeout: .seconds(60)) { try await finished(setup, versionID, at: a) == "succeeded" }
                let workspaceID = try await createWorkspace(setup, versionID: versionID, at: a)
                let start = try await latestBuild(setup, workspaceID, at: a)
                try await eventually("start ended", timeout: .seconds(60)) { try await !["pending", "starting"].contains(buildStatus(setup, start, at: a)) }
                #expect(try await buildStatus(setup, start, at: a) == "failed", "\(daemon.log.suffix(2000))")
                let build = try await HTTP.request(.GET, "\(a.base)/api/v2/workspacebuilds/\(start)", token: setup.cluster.token)
                #expect(build.status == 200)
                #expect((try (build.json["job"] as? [String: Any])?["error"] as? String ?? "").contains("--terraform-timeout"), "\(String(decoding: build.body, as: UTF8.self))")
                #expect(!Processes.running(matching: "sleep \(marker)"), "the hung sleep is gone")
                try await withPool(.init(connectionString: setup.cluster.databaseURL, maximumConnections: 1)) { pool in
                    let kept = try await state(pool, build: start)
                    #expect(kept.contains("made before the sleep"))
                }
                #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/work/d-tf/jobs").isEmpty)
                let next = try await postTemplate(setup, through: a, files: ["main.tf": "resource \"terraform_data\" \"x\" {}\n"])
                try await eventually("the next import succeeded", timeout: .seconds(60)) { try await finished(setup, next, at: a) == "succeeded" }
            }
        }
    }

    /// Asked for Terraform it cannot run, a daemon refuses to start, naming the flag, before it
    /// connects anywhere.
    @Test func aDaemonThatCannotRunTerraformRefusesToStartNamingTheFlag() async throws {
        let daemon = try CoordinatorProcess([
            "provisionerd", "start", "--url", "http://127.0.0.1:1", "--psk", "unused",
            "--provisioner", "terraform", "--terraform-path", "no-such-directory/terraform",
        ])
        #expect(try await daemon.waitForExit(timeout: .seconds(30)) != 0)
        #expect(daemon.log.contains("--terraform-path"), "\(daemon.log)")
    }

    // MARK: helpers

    func withTerraformDaemon<T: Sendable>(_ member: ReplicaCluster.Member, scratch: Scratch, extra: [String] = [], _ body: (InProcessDaemon) async throws -> T) async throws -> T {
        var result: T?
        try await withDaemon([member], name: "d-tf", extra: ["--provisioner", "terraform", "--work-dir", scratch.path + "/work"] + extra) { result = try await body($0) }
        return try #require(result)
    }

    /// A tar of `files` uploaded and imported with the Terraform provisioner; the version id.
    func postTemplate(_ setup: Setup, through member: ReplicaCluster.Member, files: [String: String], variables: [[String: String]] = []) async throws -> String {
        let version = try await postTemplateResponse(setup, through: member, files: files, variables: variables)
        #expect(version.status == 201, "\(String(decoding: version.body, as: UTF8.self))")
        return try #require(try version.json["id"] as? String)
    }

    func postTemplateResponse(_ setup: Setup, through member: ReplicaCluster.Member, files: [String: String], variables: [[String: String]] = []) async throws -> HTTP.Response {
        let archive = TarArchive.make(files: files.sorted { $0.key < $1.key }.map { (name: $0.key, contents: Array($0.value.utf8)) })
        let upload = try await HTTP.raw(.POST, "\(member.base)/api/v2/files", body: archive, contentType: "application/x-tar", token: setup.cluster.token)
        #expect(upload.status == 201)
        let fileID = try #require(try upload.json["hash"] as? String)
        var body: [String: Any] = ["storage_method": "file", "file_id": fileID, "provisioner": "terraform"]
        if !variables.isEmpty { body["user_variable_values"] = variables }
        return try await HTTP.request(.POST, "\(member.base)/api/v2/organizations/\(setup.organizationID)/templateversions", json: body, token: setup.cluster.token)
    }

    /// The import job's status once it has ended, nil before.
    func finished(_ setup: Setup, _ versionID: String, at member: ReplicaCluster.Member) async throws -> String? {
        let status = try await job(setup, versionID, at: member)["status"] as? String
        return ["succeeded", "failed", "canceled"].contains(status ?? "") ? status : nil
    }

    func createWorkspace(_ setup: Setup, versionID: String, at member: ReplicaCluster.Member) async throws -> String {
        let template = try await HTTP.request(.POST, "\(member.base)/api/v2/organizations/\(setup.organizationID)/templates", json: [
            "name": "tf-\(UUID().uuidString.prefix(6).lowercased())", "template_version_id": versionID,
        ], token: setup.cluster.token)
        #expect(template.status == 201, "\(String(decoding: template.body, as: UTF8.self))")
        let workspace = try await HTTP.request(.POST, "\(member.base)/api/v2/organizations/\(setup.organizationID)/members/me/workspaces", json: [
            "name": "w-\(UUID().uuidString.prefix(6).lowercased())", "template_id": try #require(try template.json["id"] as? String),
        ], token: setup.cluster.token)
        #expect(workspace.status == 201, "\(String(decoding: workspace.body, as: UTF8.self))")
        return try #require(try workspace.json["id"] as? String)
    }

    func latestBuild(_ setup: Setup, _ workspaceID: String, at member: ReplicaCluster.Member) async throws -> String {
        let workspace = try await HTTP.request(.GET, "\(member.base)/api/v2/workspaces/\(workspaceID)", token: setup.cluster.token)
        #expect(workspace.status == 200)
        return try #require(try (workspace.json["latest_build"] as? [String: Any])?["id"] as? String)
    }

    func postBuild(_ setup: Setup, _ workspaceID: String, transition: String, at member: ReplicaCluster.Member) async throws -> String {
        let posted = try await HTTP.request(.POST, "\(member.base)/api/v2/workspaces/\(workspaceID)/builds", json: ["transition": transition], token: setup.cluster.token)
        #expect(posted.status == 201, "\(String(decoding: posted.body, as: UTF8.self))")
        return try #require(try posted.json["id"] as? String)
    }

    func buildStatus(_ setup: Setup, _ buildID: String, at member: ReplicaCluster.Member) async throws -> String {
        let build = try await HTTP.request(.GET, "\(member.base)/api/v2/workspacebuilds/\(buildID)", token: setup.cluster.token)
        guard build.status == 200 else { throw TestSetupError("GET /workspacebuilds/\(buildID): \(build.status)") }
        return try build.json["status"] as? String ?? ""
    }

    /// The state stored with a build, as text.
    func state(_ pool: DatabasePool, build: String) async throws -> String {
        let row = try await pool.query("SELECT state FROM workspace_builds WHERE id = $1", [try #require(UUID(uuidString: build))]).first
        let bytes = try #require(try row?.decode(0, as: PostgresBytes?.self))
        return String(decoding: bytes.bytes, as: UTF8.self)
    }
}

/// Whether Terraform can be run here (the tests that need it say skipped, with the reason, when not).
enum Terraform {
    /// Found on this process's PATH the way the daemon finds it.
    static let isAvailable = TerraformVersion.resolve("terraform", path: ProcessInfo.processInfo.environment["PATH"] ?? "") != nil
}

/// Processes on this machine, by command line.
enum Processes {
    static func kill(matching text: String) {
        for pid in pids(matching: text) { _ = Glibc.kill(pid, SIGKILL) }
    }

    static func pids(matching text: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard entry.allSatisfy(\.isNumber), let pid = pid_t(entry),
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            return String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(text) ? pid : nil
        }
    }

    /// A zombie has an empty command line: it has ended, and does not match.
    static func running(matching text: String) -> Bool {
        !pids(matching: text).isEmpty
    }
}

/// A temporary folder of this test's, removed when the value goes away.
final class Scratch: Sendable {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/coordinator-tf-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}
