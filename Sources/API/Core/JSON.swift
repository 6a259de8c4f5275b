import Foundation
import Hummingbird
import Postgres

/// The one JSON configuration: RFC 3339 dates with microseconds, UTC.
enum JSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.string(from: date))
        }
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.date(from: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time: \(text)")
            }
            return date
        }
        return decoder
    }()

    static let contentType = "application/json; charset=utf-8"

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try encoder.encode(value)
        return bytes(ByteBuffer(bytes: data), status: status, headers: headers)
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
        do {
            return try JSON.decoder.decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw APIError.invalidJSON(Self.describe(error))
        } catch {
            throw APIError.invalidJSON("\(error)")
        }
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
