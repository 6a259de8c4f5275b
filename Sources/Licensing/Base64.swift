import Foundation

/// Base64 as keys and tokens arrive: the standard or the URL alphabet, padded or not.
enum Base64 {
    static func decode(_ text: some StringProtocol) -> Data? {
        var standard = String(text).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !standard.contains("=") || standard.hasSuffix("=") else { return nil }
        switch standard.count % 4 {
        case 2: standard += standard.hasSuffix("=") ? "" : "=="
        case 3: standard += standard.hasSuffix("=") ? "" : "="
        case 1: return nil
        default: break
        }
        return Data(base64Encoded: standard)
    }

    /// The unpadded URL alphabet of JWS (RFC 7515 §2).
    static func urlEncode(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A JWS segment as golang-jwt v4 reads it (unpadded URL alphabet only), or the byte
    /// offset of the first character it refuses, for Go's `illegal base64 data at input byte N`.
    static func decodeSegment(_ text: Substring) -> Result<Data, GoBase64Error> {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for (offset, byte) in text.utf8.enumerated() where !alphabet.contains(byte) {
            return .failure(GoBase64Error(offset: offset))
        }
        if text.utf8.count % 4 == 1 { return .failure(GoBase64Error(offset: text.utf8.count - 1)) }
        guard let data = decode(text) else { return .failure(GoBase64Error(offset: 0)) }
        return .success(data)
    }
}

struct GoBase64Error: Error {
    let offset: Int
    var message: String { "illegal base64 data at input byte \(offset)" }
}
