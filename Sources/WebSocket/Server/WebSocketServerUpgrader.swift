import NIOCore
import NIOHTTP1

/// A NIO typed HTTP server upgrader that speaks our handshake: usable with
/// `configureUpgradableHTTPServerPipeline`, as `ws-echo` does, or as a model for the API
/// layer's Hummingbird child channel, which needs an async authentication step before the 101.
///
/// NIO swallows the request head when every upgrader refuses (see the stack notes, pitfall 2),
/// so `onRejection` hands the refusal to the caller, whose `notUpgradingCompletionHandler` must
/// then answer it.
public struct WebSocketServerUpgrader<UpgradeResult: Sendable>: NIOTypedHTTPServerProtocolUpgrader {
    public let supportedProtocol = "websocket"
    /// Empty on purpose: `WebSocketServerHandshake` checks the headers itself and says which
    /// one is wrong, where NIO would only skip the upgrader.
    public let requiredUpgradeHeaders: [String] = []

    private let subprotocols: [String]
    private let onRejection: @Sendable (WebSocketServerHandshake.Rejection) -> Void
    private let upgradePipelineHandler: @Sendable (any Channel, HTTPRequestHead, String?) -> EventLoopFuture<UpgradeResult>

    /// - Parameter upgradePipelineHandler: runs on the event loop once the 101 is written and
    ///   the HTTP handlers are gone; typically it calls
    ///   `WebSocketConnection.installServerHandlers(on:configuration:subprotocol:)`.
    public init(
        subprotocols: [String] = [],
        onRejection: @escaping @Sendable (WebSocketServerHandshake.Rejection) -> Void = { _ in },
        upgradePipelineHandler: @escaping @Sendable (_ channel: any Channel, _ request: HTTPRequestHead, _ subprotocol: String?) -> EventLoopFuture<UpgradeResult>
    ) {
        self.subprotocols = subprotocols
        self.onRejection = onRejection
        self.upgradePipelineHandler = upgradePipelineHandler
    }

    public func buildUpgradeResponse(
        channel: any Channel,
        upgradeRequest: HTTPRequestHead,
        initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        switch WebSocketServerHandshake.evaluate(upgradeRequest, subprotocols: subprotocols) {
        case .reject(let rejection):
            onRejection(rejection)
            return channel.eventLoop.makeFailedFuture(rejection)
        case .accept(let acceptance):
            var headers = initialResponseHeaders
            for (name, value) in acceptance.headers where headers[name].isEmpty {
                headers.add(name: name, value: value)
            }
            return channel.eventLoop.makeSucceededFuture(headers)
        }
    }

    public func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        var subprotocol: String?
        if case .accept(let acceptance) = WebSocketServerHandshake.evaluate(upgradeRequest, subprotocols: subprotocols) {
            subprotocol = acceptance.subprotocol
        }
        return upgradePipelineHandler(channel, upgradeRequest, subprotocol)
    }
}
