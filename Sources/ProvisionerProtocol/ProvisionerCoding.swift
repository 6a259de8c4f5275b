import Foundation
import WireFormat

/// The wire form of the protocol: `{"type": …, "id": …, …}`, one object per text frame.
public enum ProvisionerCoding {
    public struct DecodingFailure: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    private struct Envelope: Codable {
        var type: String
        var id: Int64?
        var hello: Hello?
        var welcome: Welcome?
        var lease: Lease?
        var logs: [LogLine]?
        var daily_cost: Int64?
        var result: JobResult?
        var error: String?
        var state: String?
        var job: AcquiredJob?
        var canceled: Bool?
        var ok: Bool?
        var credits_consumed: Int64?
        var budget: Int64?
        var job_id: UUID?
        var code: CoordinatorMessage.ErrorCode?
        var message: String?

        init(type: String, id: Int64? = nil) {
            self.type = type
            self.id = id
        }
    }

    // MARK: daemon → coordinator

    public static func encode(_ message: DaemonMessage) -> String {
        var envelope: Envelope
        switch message {
        case .hello(let hello): envelope = Envelope(type: "hello"); envelope.hello = hello
        case .acquire(let id): envelope = Envelope(type: "acquire", id: id)
        case .cancelAcquire(let id): envelope = Envelope(type: "cancel_acquire", id: id)
        case .resume(let id, let lease): envelope = Envelope(type: "resume", id: id); envelope.lease = lease
        case .update(let id, let lease, let logs):
            envelope = Envelope(type: "update", id: id); envelope.lease = lease; envelope.logs = logs
        case .commitQuota(let id, let lease, let cost):
            envelope = Envelope(type: "commit_quota", id: id); envelope.lease = lease; envelope.daily_cost = cost
        case .complete(let id, let lease, let result):
            envelope = Envelope(type: "complete", id: id); envelope.lease = lease; envelope.result = result
        case .fail(let id, let lease, let error, let state):
            envelope = Envelope(type: "fail", id: id); envelope.lease = lease; envelope.error = error; envelope.state = state
        }
        return text(envelope)
    }

    public static func decodeDaemonMessage(_ text: String) throws(DecodingFailure) -> DaemonMessage {
        let envelope = try decodeEnvelope(text)
        func id() throws(DecodingFailure) -> Int64 {
            guard let id = envelope.id else { throw DecodingFailure(description: "\"\(envelope.type)\" needs an \"id\"") }
            return id
        }
        func lease() throws(DecodingFailure) -> Lease {
            guard let lease = envelope.lease else { throw DecodingFailure(description: "\"\(envelope.type)\" needs a \"lease\"") }
            return lease
        }
        switch envelope.type {
        case "hello":
            guard let hello = envelope.hello else { throw DecodingFailure(description: "\"hello\" needs a \"hello\" object") }
            return .hello(hello)
        case "acquire": return .acquire(id: try id())
        case "cancel_acquire": return .cancelAcquire(id: try id())
        case "resume": return .resume(id: try id(), lease: try lease())
        case "update": return .update(id: try id(), lease: try lease(), logs: envelope.logs ?? [])
        case "commit_quota":
            guard let cost = envelope.daily_cost, cost >= 0 else { throw DecodingFailure(description: "\"commit_quota\" needs a non-negative \"daily_cost\"") }
            return .commitQuota(id: try id(), lease: try lease(), dailyCost: cost)
        case "complete":
            guard let result = envelope.result else { throw DecodingFailure(description: "\"complete\" needs a \"result\"") }
            return .complete(id: try id(), lease: try lease(), result: result)
        case "fail":
            guard let error = envelope.error, !error.isEmpty else { throw DecodingFailure(description: "\"fail\" needs an \"error\"") }
            return .fail(id: try id(), lease: try lease(), error: error, state: envelope.state)
        default:
            throw DecodingFailure(description: "unknown message type \"\(envelope.type)\"")
        }
    }

    // MARK: coordinator → daemon

    public static func encode(_ message: CoordinatorMessage) -> String {
        var envelope: Envelope
        switch message {
        case .welcome(let welcome): envelope = Envelope(type: "welcome"); envelope.welcome = welcome
        case .job(let id, let job): envelope = Envelope(type: "job", id: id); envelope.job = job
        case .acquireCanceled(let id): envelope = Envelope(type: "acquire_canceled", id: id)
        case .updated(let id, let canceled): envelope = Envelope(type: "updated", id: id); envelope.canceled = canceled
        case .quota(let id, let ok, let consumed, let budget):
            envelope = Envelope(type: "quota", id: id); envelope.ok = ok; envelope.credits_consumed = consumed; envelope.budget = budget
        case .done(let id): envelope = Envelope(type: "done", id: id)
        case .cancel(let jobID): envelope = Envelope(type: "cancel"); envelope.job_id = jobID
        case .error(let id, let code, let message):
            envelope = Envelope(type: "error", id: id); envelope.code = code; envelope.message = message
        }
        return text(envelope)
    }

    public static func decodeCoordinatorMessage(_ text: String) throws(DecodingFailure) -> CoordinatorMessage {
        let envelope = try decodeEnvelope(text)
        func id() throws(DecodingFailure) -> Int64 {
            guard let id = envelope.id else { throw DecodingFailure(description: "\"\(envelope.type)\" needs an \"id\"") }
            return id
        }
        switch envelope.type {
        case "welcome":
            guard let welcome = envelope.welcome else { throw DecodingFailure(description: "\"welcome\" needs a \"welcome\" object") }
            return .welcome(welcome)
        case "job":
            guard let job = envelope.job else { throw DecodingFailure(description: "\"job\" needs a \"job\" object") }
            return .job(id: try id(), job: job)
        case "acquire_canceled": return .acquireCanceled(id: try id())
        case "updated": return .updated(id: try id(), canceled: envelope.canceled ?? false)
        case "quota": return .quota(id: try id(), ok: envelope.ok ?? false, creditsConsumed: envelope.credits_consumed ?? 0, budget: envelope.budget ?? 0)
        case "done": return .done(id: try id())
        case "cancel":
            guard let jobID = envelope.job_id else { throw DecodingFailure(description: "\"cancel\" needs a \"job_id\"") }
            return .cancel(jobID: jobID)
        case "error":
            return .error(id: envelope.id, code: envelope.code ?? .internalError, message: envelope.message ?? "")
        default:
            throw DecodingFailure(description: "unknown message type \"\(envelope.type)\"")
        }
    }

    private static func text(_ envelope: Envelope) -> String {
        // Encoding these plain structs cannot fail.
        (try? WireJSON.encodeString(envelope)) ?? "{}"
    }

    private static func decodeEnvelope(_ text: String) throws(DecodingFailure) -> Envelope {
        do {
            return try WireJSON.decode(Envelope.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw DecodingFailure(description: "not a protocol message: \(describe(error))")
        } catch {
            throw DecodingFailure(description: "not a protocol message")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        case .keyNotFound(let key, _):
            return "missing \"\(key.stringValue)\""
        @unknown default:
            return "\(error)"
        }
    }
}
