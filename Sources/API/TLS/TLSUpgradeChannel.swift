import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// `UpgradeChannel` behind TLS, with the context current when the connection is accepted (see
/// `ReloadableTLS`). HummingbirdTLS's `TLSChannel` does the same with a context fixed at start.
struct TLSUpgradeChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = UpgradeChannel.Value
    let base: UpgradeChannel
    let tls: ReloadableTLS

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
