import Foundation
import Hummingbird
import HummingbirdTesting
import Licensing
import Testing
@testable import API

/// The feature gate answers Coder's refusal in the shape of the route's family.
@Suite struct FeatureGateTests {
    struct Only: FeatureProvider {
        let enabled: Set<FeatureName>
        func isEnabled(_ feature: FeatureName) -> Bool { enabled.contains(feature) }
    }

    func router(_ provider: some FeatureProvider) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.group("groups").add(middleware: RequireFeature(feature: .templateRBAC, provider: provider, shape: .coder)).get { _, _ in "ok" }
        router.group("scim/v2/Users").add(middleware: RequireFeature(feature: .scim, provider: provider, shape: .scim)).get { _, _ in "ok" }
        return router
    }

    @Test func aDisabledFeatureIsRefusedInCodersEnvelope() async throws {
        try await Application(router: router(Only(enabled: [.scim]))).test(.router) { client in
            try await client.execute(uri: "/groups", method: .get) { response in
                #expect(response.status == .forbidden)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(body?["message"] as? String == "Template RBAC is an Enterprise feature. Contact sales!")
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            }
            try await client.execute(uri: "/scim/v2/Users", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func aDisabledSCIMFeatureIsRefusedAsASCIMError() async throws {
        try await Application(router: router(Only(enabled: [.templateRBAC]))).test(.router) { client in
            try await client.execute(uri: "/scim/v2/Users", method: .get) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.contentType] == "application/scim+json")
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(body?["schemas"] as? [String] == ["urn:ietf:params:scim:api:messages:2.0:Error"])
                #expect(body?["status"] as? String == "403")
                #expect(body?["detail"] as? String == "SCIM is an Enterprise feature. Contact sales!")
                #expect(body?["message"] == nil)
            }
            try await client.execute(uri: "/groups", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func namesAreHumanizedAsCoderDoes() {
        #expect(FeatureName.templateRBAC.humanized == "Template RBAC")
        #expect(FeatureName.scim.humanized == "SCIM")
        #expect(FeatureName.externalProvisionerDaemons.humanized == "External Provisioner Daemons")
        #expect(FeatureName.auditLog.humanized == "Audit Log")
    }
}
