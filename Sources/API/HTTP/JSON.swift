import Foundation
import Hummingbird
import WireFormat

/// Responses in the product's one JSON configuration (`WireJSON`).
enum JSON {
    static let contentType = "application/json; charset=utf-8"

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        bytes(try encode(value), status: status, headers: headers)
    }

    static func encode<T: Encodable>(_ value: T) throws -> ByteBuffer {
        ByteBuffer(bytes: try WireJSON.encode(value))
    }

    static func bytes(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        fields[.contentLength] = String(body.readableBytes)
        return Response(status: status, headers: fields, body: .init(byteBuffer: body))
    }
}

/// Largest request body we read; larger ones are refused before being buffered.
let maximumJSONBodySize = 1 << 20

extension Request {
    /// Decodes the body as JSON, or fails with Coder's 400 `Request body must be valid JSON.`
    func decodeJSON<T: Decodable>(as type: T.Type = T.self) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: maximumJSONBodySize)
        } catch {
            throw APIError(.contentTooLarge, "Request body is too large.", detail: "The limit is \(maximumJSONBodySize) bytes.")
        }
        let data = Data(buffer: buffer)
        if let field = Self.fieldHoldingNUL(data) { throw APIError.holdsNUL(field: field) }
        do {
            return try WireJSON.decode(T.self, from: data)
        } catch let error as APIError {
            // A request type's own validation (`RequestFields`).
            throw error
        } catch let error as DecodingError {
            throw APIError.invalidJSON(Self.describe(error))
        } catch {
            throw APIError.invalidJSON("\(error)")
        }
    }

    /// The field of a JSON body whose text holds U+0000 (see `NULCharacter`); nil when none does
    /// or the body is not JSON (which decoding then reports). Bodies without the escape's bytes,
    /// all but hostile ones, cost one scan.
    static func fieldHoldingNUL(_ data: Data) -> String? {
        guard NULCharacter.mayAppear(inJSON: data), let value = try? WireJSON.decode(JSONValue.self, from: data) else { return nil }
        return NULCharacter.path(in: value)
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "field \"\(path(context.codingPath))\": expected \(type)"
        case .valueNotFound(let type, let context):
            return "field \"\(path(context.codingPath))\": expected \(type), found null"
        case .keyNotFound(let key, _):
            return "missing field \"\(key.stringValue)\""
        case .dataCorrupted(let context):
            let where_ = path(context.codingPath)
            return where_.isEmpty ? context.debugDescription : "field \"\(where_)\": \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The request context's encoder: whatever `Encodable` a handler returns is written as `JSON`
/// writes it, so no handler can get the conventions wrong.
struct APIResponseEncoder: ResponseEncoder {
    func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        try JSON.response(value)
    }
}

/// The request context's decoder: the body limit and Coder's 400 for malformed JSON.
struct APIRequestDecoder: RequestDecoder {
    func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        try await request.decodeJSON(as: type)
    }
}
