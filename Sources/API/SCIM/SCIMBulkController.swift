import Foundation
import HTTPTypes
import Hummingbird
import Licensing
import WireFormat

/// What one SCIM write did: the status, the resource as returned (none for a delete), its
/// version and location; as an HTTP response, or as one operation of a `/Bulk` answer.
struct SCIMWriteOutcome: Sendable {
    var status: HTTPResponse.Status
    var resource: JSONValue? = nil
    var version: Int64? = nil
    var location: String? = nil
    /// Whether the HTTP response names the location too (a creation, RFC 7644 §3.3).
    var locationHeader = false

    func response() throws -> Response {
        guard let resource else { return Response(status: status) }
        var response = try SCIMController.document(resource, status: status)
        if let version { response.headers[.eTag] = SCIMController.etag(version) }
        if locationHeader, let location { response.headers[.location] = location }
        return response
    }
}

/// RFC 7644 §3.7 Bulk: up to `maxOperations` writes on Users and Groups in one request, each
/// run as its own request would be (its own transaction and audit row), in order, with
/// `bulkId:` references to resources the same request creates resolved wherever they appear (a
/// path's id, any string of `data`, such as a member's `value`). An operation whose reference
/// names a later one waits for it; one that can never be resolved (a cycle, an unknown or
/// failed bulkId) fails with 409 `invalidValue`. `failOnErrors` stops after that many errors.
struct SCIMBulkController: ResourceController {
    let mountPath: String
    let authentication: SCIMAuthentication
    let users: SCIMUsersController
    let groups: SCIMGroupsController
    let groupsEnabled: @Sendable () -> Bool

    static let maxOperations = 1000
    static let requestSchema = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
    static let responseSchema = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = SCIMController.guarded(authentication, guards)
        routes.post("Bulk", use: bulk)
        for method in [HTTPRequest.Method.get, .put, .patch, .delete] {
            routes.on("Bulk", method: method) { _, _ -> Response in throw SCIMError.methodNotAllowed }
        }
        return routes
    }

    struct Operation: Sendable {
        var method: HTTPRequest.Method
        var bulkID: String?
        var version: String?
        var path: String
        var data: JSONValue?
    }

    @Sendable func bulk(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let (operations, failOnErrors) = try Self.parse(try await SCIMController.body(request))
        var results = [JSONValue?](repeating: nil, count: operations.count)
        var created: [String: String] = [:]
        var schedule = SCIMBulkSchedule(operations)
        var errors = 0
        var stopped = false
        run: while let step = schedule.next() {
            let index: Int
            switch step {
            case .run(let next):
                index = next
                results[index] = await run(operations[index], request, context, created: &created)
            case .fail(let next, let bulkID):
                // A reference to an unknown or failed operation.
                index = next
                results[index] = Self.failure(operations[index], SCIMError(status: .conflict, scimType: "invalidValue", detail: "bulkId \"\(bulkID.prefix(64))\" names no operation of this request that succeeded."))
            }
            let failed = Self.isFailure(results[index])
            // Those waiting for it run once it created its resource, and fail if it did not.
            schedule.finished(index, created: !failed && operations[index].bulkID.map { created[$0] != nil } == true)
            if failed {
                errors += 1
                if let failOnErrors, errors >= failOnErrors {
                    stopped = true
                    break run
                }
            }
        }
        if !stopped {
            // Every one left waits for another one left: a cycle.
            for index in schedule.unresolved {
                results[index] = Self.failure(operations[index], SCIMError(status: .conflict, scimType: "invalidValue", detail: "The bulkId references of this operation form a cycle."))
            }
        }
        let answered = results.compactMap { $0 }
        return try SCIMController.document(JSONValue.object(["schemas": .array([.string(Self.responseSchema)]), "Operations": .array(answered)]))
    }

    /// Whether a BulkResponse entry is an error (a status of 400 or more).
    private static func isFailure(_ result: JSONValue?) -> Bool {
        guard case .object(let entry)? = result, let status = entry["status"]?.string else { return false }
        return (Int(status) ?? 500) >= 400
    }

    /// One operation, as its own request; its outcome or its error as a BulkResponse entry.
    private func run(_ operation: Operation, _ request: Request, _ context: AppRequestContext, created: inout [String: String]) async -> JSONValue {
        do {
            let resolved = created
            let data = operation.data.map { Self.resolving($0, resolved) }
            let ifVersion = operation.version.map { SCIMController.version(fromETag: $0) ?? Int64.min }
            let segments = operation.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            guard (1...2).contains(segments.count) else { throw SCIMError.invalidPath("\"path\" is /Users, /Groups, or one of their resources.") }
            let resource: any SCIMResourceType
            switch segments[0].lowercased() {
            case "users": resource = users
            case "groups":
                guard groupsEnabled() else { throw SCIMError(status: .forbidden, detail: "\(FeatureName.templateRBAC.humanized) is an Enterprise feature. Contact sales!") }
                resource = groups
            default: throw SCIMError.invalidPath("\"path\" is /Users, /Groups, or one of their resources.")
            }
            let outcome: SCIMWriteOutcome
            if segments.count == 1 {
                guard operation.method == .post else { throw SCIMError.invalidPath("\(operation.method) needs the path of one resource.") }
                guard let data else { throw SCIMError.invalidSyntax("POST needs \"data\".") }
                outcome = try await resource.create(body: data, request, context)
                if let bulkID = operation.bulkID, case .object(let object)? = outcome.resource, let id = object["id"]?.string { created[bulkID] = id }
            } else {
                let raw = segments[1].hasPrefix("bulkId:") ? resolved[String(segments[1].dropFirst("bulkId:".count))] ?? segments[1] : segments[1]
                guard let id = UUID(uuidString: raw) else { throw SCIMError.notFound("No \(type(of: resource).resourceName) has the id \"\(raw.prefix(64))\".") }
                switch operation.method {
                case .put:
                    guard let data else { throw SCIMError.invalidSyntax("PUT needs \"data\".") }
                    outcome = try await resource.replace(id: id, body: data, ifVersion: ifVersion, request, context)
                case .patch:
                    guard let data else { throw SCIMError.invalidSyntax("PATCH needs \"data\".") }
                    outcome = try await resource.patch(id: id, body: data, ifVersion: ifVersion, request, context)
                case .delete:
                    outcome = try await resource.delete(id: id, ifVersion: ifVersion, request, context)
                default:
                    throw SCIMError.invalidPath("POST takes the path of a resource type, not of one resource.")
                }
            }
            var entry: [String: JSONValue] = ["method": .string(operation.method.rawValue), "status": .string(String(outcome.status.code))]
            if let bulkID = operation.bulkID { entry["bulkId"] = .string(bulkID) }
            if let location = outcome.location { entry["location"] = .string(location) }
            if let version = outcome.version { entry["version"] = .string(SCIMController.etag(version)) }
            return .object(entry)
        } catch {
            return Self.failure(operation, error)
        }
    }

    private static func failure(_ operation: Operation, _ error: any Error) -> JSONValue {
        var apiError = ErrorMiddleware<AppRequestContext>.apiError(for: error)
        apiError.shape = .scim
        if apiError.status.code >= 500 { apiError.detail = nil }
        let body = (try? WireJSON.decode(JSONValue.self, from: Data(buffer: ErrorMiddleware<AppRequestContext>.scimEnvelope(for: apiError)))) ?? .null
        var entry: [String: JSONValue] = ["method": .string(operation.method.rawValue), "status": .string(String(apiError.status.code)), "response": body]
        if let bulkID = operation.bulkID { entry["bulkId"] = .string(bulkID) }
        return .object(entry)
    }

    /// The bulkIds an operation refers to: `bulkId:x` as its path's id or as any string of its data.
    static func references(in operation: Operation) -> Set<String> {
        var found: Set<String> = []
        func walk(_ value: JSONValue) {
            switch value {
            case .string(let text) where text.hasPrefix("bulkId:"): found.insert(String(text.dropFirst("bulkId:".count)))
            case .array(let array): array.forEach(walk)
            case .object(let object): object.values.forEach(walk)
            default: break
            }
        }
        operation.data.map(walk)
        if let last = operation.path.split(separator: "/").last, last.hasPrefix("bulkId:") { found.insert(String(last.dropFirst("bulkId:".count))) }
        return found
    }

    static func resolving(_ value: JSONValue, _ created: [String: String]) -> JSONValue {
        switch value {
        case .string(let text) where text.hasPrefix("bulkId:"):
            return created[String(text.dropFirst("bulkId:".count))].map { .string($0) } ?? value
        case .array(let array): return .array(array.map { resolving($0, created) })
        case .object(let object): return .object(object.mapValues { resolving($0, created) })
        default: return value
        }
    }

    static func parse(_ body: JSONValue) throws(SCIMError) -> (operations: [Operation], failOnErrors: Int?) {
        guard case .object(let object) = body else { throw SCIMError.invalidSyntax("A bulk request is a JSON object (a BulkRequest).") }
        guard let key = SCIMDocument.key("Operations", in: object), case .array(let list)? = object[key] else {
            throw SCIMError.invalidSyntax("A bulk request needs \"Operations\", a list.")
        }
        guard list.count <= maxOperations else {
            throw SCIMError(status: .contentTooLarge, scimType: "tooMany", detail: "A bulk request takes at most \(maxOperations) operations.")
        }
        var failOnErrors: Int?
        if let key = SCIMDocument.key("failOnErrors", in: object), let value = object[key], value != .null {
            guard let count = value.integer, count >= 1 else { throw SCIMError.invalidValue("\"failOnErrors\" must be an integer of at least 1.") }
            failOnErrors = Int(clamping: count)
        }
        var bulkIDs: Set<String> = []
        var operations: [Operation] = []
        for entry in list {
            guard case .object(let fields) = entry else { throw SCIMError.invalidSyntax("Each operation must be an object.") }
            func field(_ name: String) -> JSONValue? { SCIMDocument.key(name, in: fields).flatMap { fields[$0] } }
            guard let methodName = field("method")?.string?.uppercased(),
                  let method = ["POST": HTTPRequest.Method.post, "PUT": .put, "PATCH": .patch, "DELETE": .delete][methodName]
            else { throw SCIMError.invalidSyntax("Each operation needs \"method\": POST, PUT, PATCH or DELETE.") }
            guard let path = field("path")?.string else { throw SCIMError.invalidSyntax("Each operation needs \"path\".") }
            let bulkID = field("bulkId")?.string
            if method == .post {
                guard let bulkID, !bulkID.isEmpty else { throw SCIMError.invalidSyntax("A POST operation needs \"bulkId\".") }
                guard bulkIDs.insert(bulkID).inserted else { throw SCIMError.invalidValue("bulkId \"\(bulkID.prefix(64))\" is used twice.") }
            }
            operations.append(Operation(method: method, bulkID: bulkID, version: field("version")?.string, path: path, data: field("data")))
        }
        return (operations, failOnErrors)
    }
}
