import Foundation
import ProvisionerProtocol
import Synchronization

/// One job's run of Terraform, from the extracted template to the result (see
/// `TerraformProvisioner`). Every command goes through `terraform(_:stage:)`, which streams its
/// lines to the job's log and lets the job's interrupt (cancel, timeout) end it gracefully.
final class TerraformJob: Sendable {
    private let configuration: TerraformConfiguration
    private let directory: TerraformJobDirectory
    private let input: ProvisionerJobInput
    private let progress: any ProvisionerProgress
    private let runner: TerraformRunner
    private let interrupt = TerraformInterrupt()
    private let timedOut = Atomic<Bool>(false)
    /// Values that must reach no log line (sensitive variables and outputs, once the plan is read).
    private let secrets = Mutex<[String]>([])

    private var isImport: Bool { input.type == "template_version_import" }
    /// `start`, `stop` or `delete`; an import plans as a start would.
    private var transition: String { isImport ? "start" : (input.transition ?? "start") }

    init(configuration: TerraformConfiguration, directory: TerraformJobDirectory, input: ProvisionerJobInput, progress: any ProvisionerProgress) {
        self.configuration = configuration
        self.directory = directory
        self.input = input
        self.progress = progress
        self.runner = TerraformRunner(executable: configuration.executable, grace: configuration.cancelGrace)
    }

    func run() async throws -> JobResult {
        // The job's own deadline, and a heartbeat so that a long quiet command is not taken for a
        // hung job; both end with the job.
        let interrupt = self.interrupt, progress = self.progress
        let timeout = configuration.timeout, longest = configuration.heartbeatInterval
        let watchers = [
            Task { [self] in
                try await Task.sleep(for: timeout)
                timedOut.store(true, ordering: .sequentiallyConsistent)
                interrupt.fire()
            },
            Task {
                while true {
                    // A third of the coordinator's hang timeout, as it said in `welcome`.
                    let interval = progress.jobHangTimeout.map { min(longest, max(.milliseconds(200), $0 / 3)) } ?? longest
                    try await Task.sleep(for: interval)
                    if (try? await progress.log([])) == true { interrupt.fire() }
                }
            },
        ]
        defer { for watcher in watchers { watcher.cancel() } }
        return try await steps()
    }

    /// A canceled job's runner task is cancelled (the daemon's answer to `cancel`), which fires
    /// `interrupt` for the command running (`TerraformRunner`); no next command starts.
    private var stopping: Bool { interrupt.fired || Task.isCancelled }

    private func steps() async throws -> JobResult {
        do {
            _ = try TemplateArchive.extract(input.archive, into: directory.template)
        } catch {
            throw ProvisionerFailure("the template archive was refused: \(error)")
        }
        if let state = input.state, !state.isEmpty, !isImport {
            guard FileManager.default.createFile(atPath: directory.state, contents: Data(state), attributes: [.posixPermissions: 0o600]) else {
                throw ProvisionerFailure("could not write the previous state into the job's directory")
            }
        }

        try await terraform(["init", "-json", "-input=false"] + configuration.pluginDirectory.map { ["-plugin-dir=\($0)"] }.orEmpty, stage: "init") { message in
            // No network and no mirror: say where the providers should come from.
            message.contains("Failed to query available provider packages") || message.contains("Failed to install provider")
                ? message + "\n\nThis daemon downloads no providers it cannot reach: put them in a local mirror and pass --terraform-plugin-dir."
                : message
        }
        let destroy = transition == "delete"
        try await terraform(["plan", "-json", "-input=false", "-out=\(directory.plan)"] + (destroy ? ["-destroy"] : []), stage: "plan")
        let plan: TerraformShow.Plan
        do {
            plan = try TerraformShow.plan(try await show([directory.plan], stage: "plan"))
        } catch let failure as ProvisionerFailure {
            throw failure
        } catch {
            throw ProvisionerFailure("reading the plan: \(error)")
        }
        secrets.withLock { $0 = plan.sensitiveValues }
        let costs: DailyCosts.Costs
        do {
            costs = try DailyCosts.fromPlan(plan)
        } catch {
            throw ProvisionerFailure("coder_daily_costs: \(error)")
        }

        if isImport {
            return JobResult(resources: plan.resources.map { resource(of: $0, costs: costs) }, variables: declaredVariables(plan))
        }
        // The quota is committed between plan and apply, with what the plan leaves running: an
        // over-budget start ends before anything is applied. A delete never commits.
        if !destroy {
            guard try await progress.commitQuota(dailyCost: costs.total) else {
                throw ProvisionerFailure("insufficient quota")
            }
        }
        do {
            try await terraform(["apply", "-json", "-input=false", directory.plan], stage: destroy ? "destroy" : "apply")
        } catch let failure as ProvisionerFailure {
            // A failed apply wrote partial state: it goes back with the failure.
            throw ProvisionerFailure(failure.message, state: try stateToSend())
        }
        let state = try stateToSend()
        let resources: [Resource]
        do {
            resources = try TerraformShow.state(try await show([], stage: destroy ? "destroy" : "apply")).resources.map { resource(of: $0, costs: costs) }
        } catch {
            throw ProvisionerFailure("reading the state: \(error)", state: state)
        }
        return JobResult(resources: resources, state: state)
    }

    /// The template's variables as the coordinator stores them: the `coder_workspace_*` ones are
    /// the provisioner's, not the template's. The type is the declared one where the template
    /// says it, else the default's.
    private func declaredVariables(_ plan: TerraformShow.Plan) -> [TemplateVariable] {
        let declaredTypes = VariableTypes.declared(in: templateFiles())
        return plan.variables.filter { !$0.name.hasPrefix("coder_workspace_") }.map { variable in
            let defaultText: String = switch variable.defaultValue {
            case nil, .null?: ""
            case .string(let text)?: text
            case let value?: TerraformShow.jsonText(value)
            }
            return TemplateVariable(
                name: variable.name, description: variable.description ?? "",
                type: declaredTypes[variable.name] ?? VariableTypes.inferred(fromDefault: variable.defaultValue),
                defaultValue: defaultText, required: variable.required, sensitive: variable.sensitive
            )
        }
    }

    /// The root module's configuration files, for what Terraform's JSON does not tell (types).
    private func templateFiles() -> [(name: String, text: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.template)) ?? []
        return names.sorted().filter { $0.hasSuffix(".tf") || $0.hasSuffix(".tf.json") }.compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory.template + "/" + name), data.count <= 4 << 20 else { return nil }
            return (name, String(decoding: data, as: UTF8.self))
        }
    }

    private func resource(of resource: TerraformShow.ManagedResource, costs: DailyCosts.Costs) -> Resource {
        Resource(name: resource.name, type: resource.type, dailyCost: costs.cost(of: resource.address), address: resource.address)
    }

    /// The state Terraform left, base64, for the coordinator; nil when it wrote none. One larger
    /// than a coordinator takes fails the build loudly and stays on this daemon's disk.
    private func stateToSend() throws -> String? {
        guard let state = FileManager.default.contents(atPath: directory.state), !state.isEmpty else { return nil }
        guard state.count <= ProvisionerLimits.maxStateBytes else {
            let kept = directory.keep(stateOfJob: input.jobID.uuidString.lowercased())
            throw ProvisionerFailure(
                "the state is \(state.count) bytes, more than the \(ProvisionerLimits.maxStateBytes) a coordinator accepts; "
                    + (kept.map { "it is kept on the daemon at \($0)" } ?? "it could not be kept on the daemon's disk")
            )
        }
        return state.base64EncodedString()
    }

    /// Terraform's environment, from nothing: none of the daemon's own (its key, its token, any
    /// `CODER_*` setting) reaches the template's commands.
    private var environment: [String: String] {
        let start = transition == "start" ? "1" : "0"
        var environment = [
            "PATH": configuration.path,
            "HOME": directory.home,
            "TMPDIR": directory.temporary,
            "LANG": "C.UTF-8",
            "TF_DATA_DIR": directory.data,
            "TF_CLI_CONFIG_FILE": directory.cliConfiguration,
            "TF_PLUGIN_CACHE_DIR": directory.pluginCache,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            // The workspace as the template may see it (declared or not: Terraform ignores a
            // TF_VAR_ for an undeclared variable).
            "TF_VAR_coder_workspace_transition": transition,
            "TF_VAR_coder_workspace_start_count": start,
            // An import has no workspace: empty strings, as the issue's placeholders.
            "TF_VAR_coder_workspace_name": input.workspace?.name ?? "",
            "TF_VAR_coder_workspace_id": input.workspace?.id.uuidString.lowercased() ?? "",
            "TF_VAR_coder_workspace_owner": input.workspace?.owner ?? "",
            "TF_VAR_coder_workspace_owner_email": input.workspace?.ownerEmail ?? "",
        ]
        // The template's own variables, as given with its version: Terraform parses each for its
        // declared type (a wrong one fails the plan with Terraform's message) and ignores one the
        // template does not declare. The coder_workspace_* ones above are not the caller's to set.
        for variable in input.variables where ProvisionerLimits.isVariableName(variable.name) && !variable.name.hasPrefix("coder_workspace_") {
            environment["TF_VAR_" + variable.name] = variable.value
        }
        return environment
    }

    /// Runs one command whose lines go to the job's log; throws a `ProvisionerFailure` with
    /// Terraform's own words when it fails, and ours when it was canceled or timed out.
    private func terraform(_ arguments: [String], stage: String, explain: (String) -> String = { $0 }) async throws {
        let diagnostics = Mutex<[TerraformUIMessage.Diagnostic]>([])
        let outcome = try await command(arguments, stage: stage) { [self] line, fromStandardError in
            if !fromStandardError, let diagnostic = TerraformUIMessage.parse(line)?.diagnostic, diagnostic.severity == "error" {
                diagnostics.withLock { $0.append(diagnostic) }
            }
            guard let logLine = TerraformUI.logLine(line, stage: stage, redacting: secrets.withLock { $0 }, from: fromStandardError ? .stderr : .stdout) else { return }
            // A canceled job's updates are refused once it is cancelled; the lines still ran.
            if (try? await progress.log([logLine])) == true { interrupt.fire() }
        }
        if outcome.interrupted { throw interruption(state: try? stateToSend()) }
        guard outcome.status.isSuccess else {
            let words = TerraformUI.failureMessage(from: diagnostics.withLock { $0 }, redacting: secrets.withLock { $0 })
            throw ProvisionerFailure(explain("terraform \(arguments[0]) failed: " + (words ?? "\(outcome.status)")))
        }
    }

    /// `terraform show -json …`: the whole output, not logged.
    private func show(_ arguments: [String], stage: String) async throws -> [UInt8] {
        let output = Mutex<[UInt8]>([])
        let errors = Mutex<[String]>([])
        let outcome = try await command(["show", "-json"] + arguments, stage: stage) { line, fromStandardError in
            if fromStandardError {
                errors.withLock { $0.append(line) }
            } else {
                output.withLock { $0 += Array(line.utf8) }
            }
        }
        if outcome.interrupted { throw interruption(state: try? stateToSend()) }
        guard outcome.status.isSuccess else {
            throw ProvisionerFailure("terraform show failed: \(errors.withLock { $0.joined(separator: "\n") }.prefix(4000))")
        }
        return output.withLock { $0 }
    }

    private func command(_ arguments: [String], stage: String, onLine: @escaping @Sendable (String, Bool) async -> Void) async throws -> TerraformRunner.Outcome {
        if stopping { throw interruption(state: try? stateToSend()) }
        let started = ContinuousClock.now
        let outcome: TerraformRunner.Outcome
        do {
            outcome = try await runner.run(arguments, in: directory.template, environment: environment, interrupt: interrupt, onLine: onLine)
        } catch {
            throw ProvisionerFailure("could not run \(configuration.executable): \(error)")
        }
        // How long Terraform itself took, in the job's log: what a slow build spent where (and
        // what scripts/bench/terraform subtracts to find the coordinator's own part).
        let took = ContinuousClock.now - started
        let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
        _ = try? await progress.log([LogLine(level: "debug", stage: stage, output: String(format: "terraform %@ took %.3f s", arguments[0], seconds))])
        return outcome
    }

    private func interruption(state: String?) -> ProvisionerFailure {
        if timedOut.load(ordering: .sequentiallyConsistent) {
            return ProvisionerFailure("Terraform did not finish within the job's time (--terraform-timeout \(configuration.timeout)); it was interrupted", state: state)
        }
        return ProvisionerFailure("canceled", state: state)
    }
}

private extension Optional where Wrapped == [String] {
    var orEmpty: [String] { self ?? [] }
}
