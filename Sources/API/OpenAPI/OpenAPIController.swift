import Hummingbird

/// `GET /api/v2/openapi.json`: the OpenAPI 3.1 document of every route (see docs/openapi.md),
/// compiled into the binary and encoded once, unauthenticated as Coder's swagger is.
struct OpenAPIController: ResourceController {
    static let body = ByteBuffer(string: OpenAPIDocument.json)

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: Self.body))
        }
        return routes
    }
}
