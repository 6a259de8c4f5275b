import Foundation

/// The one JSON configuration of the product, for the HTTP API and the daemon protocol alike:
/// lowercase UUIDs, RFC 3339 dates with microseconds (read with or without a fraction, in any
/// offset), base64 data, unescaped slashes.
public enum WireJSON {
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        try JSONWriter.encode(value)
    }

    public static func encodeString(_ value: some Encodable) throws -> String {
        String(decoding: try JSONWriter.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type = T.self, from data: Data) throws -> T {
        try decoder.decode(type, from: data)
    }

    /// Foundation's decoder reads lowercase UUIDs already; only dates need our rule.
    public static let decoder: JSONDecoder = {
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
}
