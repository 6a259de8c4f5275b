import Foundation
import TestSupport

/// A WebSocket upgrade request over a plain socket, to read exactly what a refused upgrade answers.
enum RawHTTP {
    static func upgrade(port: Int, path: String, headers: [(String, String)]) async throws -> RawResponse {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        request += "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let connection = try RawConnection(port: port)
        connection.send(request)
        let (text, _) = await connection.readUntilClosed(timeout: 20)
        guard let response = RawResponse(parsing: Array(text.utf8)) else { throw TestSetupError("no response to the upgrade: \(text)") }
        return response
    }
}
