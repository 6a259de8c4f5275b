import Foundation

/// A response body that is not JSON of the shape a test asked for. The JSON accessors of the
/// tests' responses throw it instead of answering `[:]` or `[]`, so that a test reading a field of
/// an error page, an empty body or an array where it expected an object fails, and says what the
/// body was, instead of comparing `nil` with `nil` and passing.
public struct UnexpectedBody: Error, CustomStringConvertible {
    public let description: String

    public init(expected: String, status: Int, body: Data) {
        let prefix = String(decoding: body.prefix(200), as: UTF8.self)
        let more = body.count > 200 ? "… (\(body.count) bytes in all)" : ""
        let found = body.isEmpty ? "an empty body" : "\"" + prefix + "\"" + more
        description = "expected \(expected) in the body of a \(status) response, found \(found)"
    }
}

/// The body as a JSON object; throws `UnexpectedBody` if it is not one.
public func bodyJSONObject(_ body: Data, status: Int) throws -> [String: Any] {
    guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
        throw UnexpectedBody(expected: "a JSON object", status: status, body: body)
    }
    return object
}

/// The body as a JSON array of objects; throws `UnexpectedBody` if it is not one.
public func bodyJSONArray(_ body: Data, status: Int) throws -> [[String: Any]] {
    guard let array = (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] else {
        throw UnexpectedBody(expected: "a JSON array of objects", status: status, body: body)
    }
    return array
}
