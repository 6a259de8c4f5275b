import Hummingbird

/// `GET /api/v2/openapi.json`: the OpenAPI 3.1 document of every route (see docs/openapi.md),
/// compiled into the binary and encoded once, unauthenticated as Coder's swagger is.
struct OpenAPIController: ResourceController {
    /// `openapi.json`, embedded at build time by the EmbedResourcesPlugin.
    static let json: String = {
        guard var text = EmbeddedResources.texts["OpenAPI/openapi.json"] else {
            preconditionFailure("OpenAPI/openapi.json is not embedded: the API target's EmbedResourcesPlugin did not run")
        }
        // Served without the file's final newline, as it always was.
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }()

    static let body = ByteBuffer(string: json)

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: Self.body))
        }
        return routes
    }
}
