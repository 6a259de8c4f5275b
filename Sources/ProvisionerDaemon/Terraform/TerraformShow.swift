import Foundation
import WireFormat

/// Reads what `terraform show -json <planfile>` (a plan) and `terraform show -json` (the state)
/// print, keeping only what the daemon reports: the managed resources, what the plan does to
/// each, the template's variables and the outputs. Pure: the runner hands over the bytes.
///
/// Only the fields we use are decoded and unknown ones are ignored, so a newer Terraform that adds
/// fields still reads (the `format_version` is 1.x for both documents in 1.11; a 2.x would be a
/// breaking change on Terraform's side, and is refused rather than misread).
public enum TerraformShow {
    /// A resource instance Terraform manages (not a data source): `terraform_data.ws[0]`,
    /// `module.net.terraform_data.x`.
    public struct ManagedResource: Sendable, Hashable {
        public var address: String
        public var type: String
        public var name: String
        public init(address: String, type: String, name: String) {
            self.address = address
            self.type = type
            self.name = name
        }
    }

    /// What a plan does to one managed instance: `["create"]`, `["no-op"]`, `["update"]`,
    /// `["delete"]`, `["delete", "create"]` (replace), `["create", "delete"]` (replace, create first).
    public struct ResourceChange: Sendable, Hashable {
        public var address: String
        public var actions: [String]
        public init(address: String, actions: [String]) {
            self.address = address
            self.actions = actions
        }
    }

    /// A `variable` block as the plan's `configuration` shows it: only `default`, `description`
    /// and `sensitive`, each present only when set (Terraform 1.11 shows neither `type` nor
    /// `nullable` there).
    public struct DeclaredVariable: Sendable, Hashable {
        public var name: String
        /// The default, any JSON value (`null` included: `default = null` makes the variable
        /// optional); nil when the block has no `default`.
        public var defaultValue: JSONValue?
        public var description: String?
        public var sensitive: Bool

        public init(name: String, defaultValue: JSONValue? = nil, description: String? = nil, sensitive: Bool = false) {
            self.name = name
            self.defaultValue = defaultValue
            self.description = description
            self.sensitive = sensitive
        }

        /// A variable with no default must be given a value (Coder's `required`).
        public var required: Bool { defaultValue == nil }

        /// The default as JSON text (`"ws"`, `1`, `{}`, `null`), nil when there is none.
        public var defaultJSON: String? { defaultValue.map(TerraformShow.jsonText) }
    }

    /// An output: its value when it is known (nil: only known after apply), and whether the
    /// template marked it sensitive. Terraform writes sensitive values in plain text in both
    /// documents, so they are as secret as the state.
    public struct Output: Sendable, Hashable {
        public var sensitive: Bool
        public var value: JSONValue?
        public init(sensitive: Bool, value: JSONValue?) {
            self.sensitive = sensitive
            self.value = value
        }

        /// The value as JSON text, nil when it is not known yet.
        public var valueJSON: String? { value.map(TerraformShow.jsonText) }
    }

    public struct Plan: Sendable, Equatable {
        /// The managed instances that exist once the plan is applied (`planned_values`, the root
        /// module and every child module), in Terraform's order.
        public var resources: [ManagedResource]
        /// What the plan does to each managed instance (`resource_changes`), unchanged ones
        /// included as `no-op`, deleted ones as `delete`.
        public var changes: [ResourceChange]
        /// The root module's variables, by name.
        public var variables: [DeclaredVariable]
        /// The value each variable has in this plan (`.variables.<name>.value`), as supplied:
        /// `TF_VAR_n=1` shows as the string "1", a var-file number as a number.
        public var values: [String: JSONValue]
        /// `planned_values.outputs`; a destroy plan has none.
        public var outputs: [String: Output]
        /// The managed resources the configuration declares, without instance keys
        /// (`terraform_data.ws`, `module.net.terraform_data.x`), whether or not any instance of
        /// them is planned (`count = 0` declares one and plans none).
        public var declaredResources: [String]

        public init(
            resources: [ManagedResource] = [], changes: [ResourceChange] = [], variables: [DeclaredVariable] = [],
            values: [String: JSONValue] = [:], outputs: [String: Output] = [:], declaredResources: [String] = []
        ) {
            self.resources = resources
            self.changes = changes
            self.variables = variables
            self.values = values
            self.outputs = outputs
            self.declaredResources = declaredResources
        }

        /// Every value that must not reach a log: the value (else the default) of each sensitive
        /// variable, and each sensitive output's known value. Strings as they are; numbers as
        /// written; a list or an object both as its JSON text and as each string and number in it.
        /// Booleans and nulls are left out: `true` is no secret, and hiding it would garble logs.
        public var sensitiveValues: [String] {
            var found: [String] = []
            for variable in variables where variable.sensitive {
                if let value = values[variable.name] ?? variable.defaultValue {
                    found += TerraformShow.secretTexts(in: value)
                }
            }
            for name in outputs.keys.sorted() {
                if let output = outputs[name], output.sensitive, let value = output.value {
                    found += TerraformShow.secretTexts(in: value)
                }
            }
            var seen: Set<String> = []
            return found.filter { !$0.isEmpty && seen.insert($0).inserted }
        }
    }

    public struct State: Sendable, Equatable {
        /// The managed instances in the state (tainted ones included: they exist).
        public var resources: [ManagedResource]
        public var outputs: [String: Output]
        public init(resources: [ManagedResource] = [], outputs: [String: Output] = [:]) {
            self.resources = resources
            self.outputs = outputs
        }
    }

    /// `terraform show -json <planfile>`.
    public static func plan(_ json: [UInt8]) throws(TerraformShowError) -> Plan {
        let document = try decode(PlanDocument.self, from: json, what: "plan")
        try checkVersion(document.formatVersion, what: "plan")
        var plan = Plan()
        plan.resources = managedResources(in: document.plannedValues?.rootModule)
        plan.changes = (document.resourceChanges ?? [])
            .filter { $0.mode == nil || $0.mode == "managed" }
            .map { ResourceChange(address: $0.address, actions: $0.change?.actions ?? []) }
        plan.variables = (document.configuration?.rootModule?.variables ?? [:])
            .map { name, declaration in
                DeclaredVariable(name: name, defaultValue: declaration.defaultValue, description: declaration.description, sensitive: declaration.sensitive ?? false)
            }
            .sorted { $0.name < $1.name }
        for (name, supplied) in document.variables ?? [:] {
            if let value = supplied.value { plan.values[name] = value }
        }
        plan.outputs = outputs(document.plannedValues?.outputs)
        plan.declaredResources = declaredResources(in: document.configuration?.rootModule, prefix: "")
        return plan
    }

    /// `terraform show -json` of a state. No state at all (or an empty one) prints
    /// `{"format_version":"1.0"}`: no resources, no outputs.
    public static func state(_ json: [UInt8]) throws(TerraformShowError) -> State {
        let document = try decode(StateDocument.self, from: json, what: "state")
        try checkVersion(document.formatVersion, what: "state")
        return State(resources: managedResources(in: document.values?.rootModule), outputs: outputs(document.values?.outputs))
    }

    /// A JSON value as compact text, keys sorted (stable, so it can be stored and compared).
    public static func jsonText(_ value: JSONValue) -> String {
        // Only a non-finite double fails to encode, and JSON text never decodes into one.
        (try? WireJSON.encodeString(value)) ?? "null"
    }

    // MARK: - Reading

    private static let decoder = JSONDecoder()

    private static func decode<T: Decodable>(_ type: T.Type, from json: [UInt8], what: String) throws(TerraformShowError) -> T {
        guard json.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else {
            throw TerraformShowError("terraform show -json printed nothing for the \(what)")
        }
        do {
            return try decoder.decode(type, from: Data(json))
        } catch {
            throw TerraformShowError("terraform show -json printed a \(what) we cannot read: \(describe(error))")
        }
    }

    private static func checkVersion(_ version: String?, what: String) throws(TerraformShowError) {
        guard let version else { return }
        guard version.split(separator: ".").first == "1" else {
            throw TerraformShowError("terraform show -json printed a \(what) in format \(version); this daemon reads format 1.x")
        }
    }

    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { key in key.intValue.map { index in "[\(index)]" } ?? ".\(key.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let at = path(context.codingPath)
            return at.isEmpty ? context.debugDescription : "\(at): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func managedResources(in module: ModuleValues?) -> [ManagedResource] {
        var found: [ManagedResource] = []
        func walk(_ module: ModuleValues) {
            for resource in module.resources ?? [] where resource.mode == "managed" {
                found.append(ManagedResource(address: resource.address, type: resource.type, name: resource.name))
            }
            for child in module.childModules ?? [] { walk(child) }
        }
        if let module { walk(module) }
        return found
    }

    private static func declaredResources(in module: ConfigModule?, prefix: String) -> [String] {
        guard let module else { return [] }
        var found: [String] = []
        for resource in module.resources ?? [] where resource.mode == "managed" {
            found.append(prefix + resource.address)
        }
        for name in (module.moduleCalls ?? [:]).keys.sorted() {
            found += declaredResources(in: module.moduleCalls?[name]?.module, prefix: prefix + "module.\(name).")
        }
        return found
    }

    private static func outputs(_ outputs: [String: OutputDocument]?) -> [String: Output] {
        (outputs ?? [:]).mapValues { Output(sensitive: $0.sensitive ?? false, value: $0.value) }
    }

    static func secretTexts(in value: JSONValue) -> [String] {
        switch value {
        case .null, .bool: return []
        case .string(let text): return [text]
        case .int(let number): return [String(number)]
        case .double: return [jsonText(value)]
        case .array(let elements): return [jsonText(value)] + elements.flatMap(secretTexts)
        case .object(let members): return [jsonText(value)] + members.keys.sorted().flatMap { members[$0].map(secretTexts) ?? [] }
        }
    }

    // MARK: - The documents' shapes (only what we read)

    private struct PlanDocument: Decodable {
        var formatVersion: String?
        var variables: [String: SuppliedVariable]?
        var plannedValues: Values?
        var resourceChanges: [ResourceChangeDocument]?
        var configuration: Configuration?

        enum CodingKeys: String, CodingKey {
            case variables, configuration
            case formatVersion = "format_version"
            case plannedValues = "planned_values"
            case resourceChanges = "resource_changes"
        }
    }

    private struct StateDocument: Decodable {
        var formatVersion: String?
        var values: Values?

        enum CodingKeys: String, CodingKey {
            case values
            case formatVersion = "format_version"
        }
    }

    private struct Values: Decodable {
        var outputs: [String: OutputDocument]?
        var rootModule: ModuleValues?

        enum CodingKeys: String, CodingKey {
            case outputs
            case rootModule = "root_module"
        }
    }

    private struct ModuleValues: Decodable {
        var resources: [ResourceDocument]?
        var childModules: [ModuleValues]?

        enum CodingKeys: String, CodingKey {
            case resources
            case childModules = "child_modules"
        }
    }

    private struct ResourceDocument: Decodable {
        var address: String
        var mode: String?
        var type: String
        var name: String
    }

    private struct ResourceChangeDocument: Decodable {
        var address: String
        var mode: String?
        var change: Change?

        struct Change: Decodable {
            var actions: [String]?
        }
    }

    /// `{"sensitive": false}` alone means the value is not known until apply; `"value": null`
    /// is a known null. Hence the check for the key rather than `decodeIfPresent`, which reads
    /// both as nil.
    private struct OutputDocument: Decodable {
        var sensitive: Bool?
        var value: JSONValue?

        enum CodingKeys: String, CodingKey { case sensitive, value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            sensitive = try container.decodeIfPresent(Bool.self, forKey: .sensitive)
            value = try container.contains(.value) ? container.decode(JSONValue.self, forKey: .value) : nil
        }
    }

    private struct SuppliedVariable: Decodable {
        var value: JSONValue?

        enum CodingKeys: String, CodingKey { case value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            value = try container.contains(.value) ? container.decode(JSONValue.self, forKey: .value) : nil
        }
    }

    private struct Configuration: Decodable {
        var rootModule: ConfigModule?

        enum CodingKeys: String, CodingKey {
            case rootModule = "root_module"
        }
    }

    private struct ConfigModule: Decodable {
        var resources: [ConfigResource]?
        var moduleCalls: [String: ModuleCall]?
        var variables: [String: VariableDeclaration]?

        enum CodingKeys: String, CodingKey {
            case resources, variables
            case moduleCalls = "module_calls"
        }
    }

    private struct ConfigResource: Decodable {
        var address: String
        var mode: String?
    }

    private struct ModuleCall: Decodable {
        var module: ConfigModule?
    }

    /// `default` may be present and null (`default = null`: optional, null) or absent (required).
    private struct VariableDeclaration: Decodable {
        var defaultValue: JSONValue?
        var description: String?
        var sensitive: Bool?

        enum CodingKeys: String, CodingKey {
            case description, sensitive
            case defaultValue = "default"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            defaultValue = try container.contains(.defaultValue) ? container.decode(JSONValue.self, forKey: .defaultValue) : nil
            description = try container.decodeIfPresent(String.self, forKey: .description)
            sensitive = try container.decodeIfPresent(Bool.self, forKey: .sensitive)
        }
    }
}

/// `terraform show -json` printed something this daemon cannot read.
public struct TerraformShowError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
