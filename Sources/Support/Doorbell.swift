/// Coalescing wake-ups: any number of rings while the listener is busy become one.
public final class Doorbell: Sendable {
    public let rings: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (rings, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public func ring() { continuation.yield() }
    public func close() { continuation.finish() }
}

/// Returns when the calling task is cancelled: the body of a service's task group, whose
/// children run until then.
public func waitForCancellation() async {
    let (stream, continuation) = AsyncStream<Void>.makeStream()
    await withTaskCancellationHandler {
        for await _ in stream {}
    } onCancel: {
        continuation.finish()
    }
}
