import ServiceLifecycle

/// Runs a long-lived async function as a service: cancelled on graceful shutdown, and expected to
/// clean up after itself when it is.
struct TaskService: Service {
    let body: @Sendable () async -> Void

    init(_ body: @escaping @Sendable () async -> Void) {
        self.body = body
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await body()
        }
    }
}
