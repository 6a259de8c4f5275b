import Hummingbird
import Telemetry

/// Times every request by method, route pattern and status code. It runs outside the error
/// middleware, so errors are counted with the status they were answered with; the route is the
/// pattern the router matched (`/api/v2/users/{user}`), never the raw path, so that label
/// values stay bounded whatever clients send.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: CoordinatorMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock(), start = clock.now
        let response = try await next(request, context)
        metrics.httpRequestDuration(
            method: request.method.rawValue, route: context.endpointPath ?? "unmatched", code: Int(response.status.code)
        ).record(clock.now - start)
        return response
    }
}
