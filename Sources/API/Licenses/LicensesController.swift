import Foundation
import Hummingbird
import Licensing
import Store
import WireFormat

/// `GET/POST /api/v2/licenses` and `DELETE /api/v2/licenses/{id}`, as Coder answers them.
/// A change is stored and announced in one transaction; this replica recomputes at once, the
/// others on the announcement. The body is in `LicenseRequests.swift`, the answers in `LicenseJSON.swift`.
struct LicensesController: ResourceController {
    let store: Store
    let services: LicensingServices

    /// Longest license accepted: ours are under 1 KiB; a JWT this long is no license.
    static let maximumLicenseBytes = 64 << 10

    func routes(_ guards: RouteGuards) -> RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let signedIn = guards.signedIn(routes)
        signedIn.get("licenses", use: list)
        signedIn.post("licenses", use: add)
        signedIn.delete("licenses/:id", use: delete)
        return routes
    }

    /// Everyone may ask; only owners see any. Claims are shown as signed, unverified: an
    /// expired license, or one of a key this replica does not trust, is listed too.
    @Sendable func list(_ request: Request, _ context: SignedInContext) async throws -> [LicenseJSON] {
        guard RBAC.can(context.subject, .read, .licenses) else { return [] }
        return try await store.licenses().map { stored in
            do {
                return LicenseJSON(claims: try LicenseVerifier.unverifiedClaims(of: stored.jwt), id: stored.id, uploaded_at: stored.uploadedAt, uuid: stored.uuid)
            } catch {
                throw APIError(.internalServerError, "Internal error parsing licenses.", underlying: error)
            }
        }
    }

    @Sendable func add(_ request: Request, _ context: SignedInContext) async throws -> Created<LicenseJSON> {
        try context.authorize(.create, .licenses)
        let body = try await request.decode(as: AddLicenseRequest.self, context: context)
        guard body.license.utf8.count <= Self.maximumLicenseBytes else {
            throw APIError(.badRequest, "Invalid license", detail: "The license is \(body.license.utf8.count) bytes; at most \(Self.maximumLicenseBytes) are accepted.")
        }
        let license = try verifyForUpload(body.license)
        guard let expires = license.graceEnds else {
            throw APIError(.badRequest, "Invalid license", detail: "exp claim missing or not parsable")
        }
        let new = NewLicense(jwt: body.license, expires: expires, uuid: license.uuid ?? UUID())
        let entry = try context.audit.record(
            .license, id: new.uuid, target: "", action: .create,
            new: AuditedLicense(uuid: new.uuid, exp: expires, jwt: new.jwt, uploaded_at: nil),
            secretFields: AuditedLicense.secretFields, status: .created
        )
        let stored: StoredLicense
        do {
            stored = try await store.addLicense(new, audit: entry)
        } catch StoreError.conflict {
            throw APIError(.conflict, "License already exists.", detail: "A license with this JWT or ID (\(license.id ?? "")) is installed already.")
        }
        try await recompute()
        return Created(LicenseJSON(claims: license.claims, id: stored.id, uploaded_at: stored.uploadedAt, uuid: stored.uuid))
    }

    @Sendable func delete(_ request: Request, _ context: SignedInContext) async throws -> Response {
        guard let id = context.parameters.get("id").flatMap(Int32.init) else {
            throw APIError(.notFound, "License ID must be an integer")
        }
        try context.authorize(.delete, .licenses)
        do {
            guard let license = try await store.license(id: id) else { throw StoreError.notFound }
            let entry = try context.audit.record(
                .license, id: license.uuid, target: String(id), action: .delete,
                old: AuditedLicense(uuid: license.uuid, exp: license.expires, jwt: license.jwt, uploaded_at: license.uploadedAt),
                secretFields: AuditedLicense.secretFields, status: .ok
            )
            try await store.deleteLicense(id: id, audit: entry)
        } catch StoreError.notFound {
            // Coder's words for a license that is not there (the generic 404's are not).
            throw APIError(.notFound, "Unknown license ID")
        }
        try await recompute()
        return Response(status: .ok)
    }

    /// Coder's checks, and then ours: a license that names deployments must name this one. A
    /// license whose start is still ahead is accepted (renewals are uploaded early).
    private func verifyForUpload(_ jwt: String) throws -> License {
        let license: License
        do {
            license = try services.entitlements.verifier.verify(jwt, now: Date(), allowingFutureStart: true)
        } catch {
            throw APIError(.badRequest, "Invalid license", detail: error.message)
        }
        // The deployment's trial key signs one license, installed with the first user. Anyone
        // holding that key (a database backup has it) could mint more; none is taken here.
        if services.entitlements.verifier.keyRing[license.keyID]?.trialOnly == true {
            throw APIError(
                .badRequest, "Invalid license",
                detail: "A trial license comes only with the first user (POST /api/v2/users/first with \"trial\": true), one per deployment."
            )
        }
        let deployment = services.deploymentID.uuidString.lowercased()
        if !license.deploymentIDs.isEmpty, !license.deploymentIDs.contains(where: { $0.lowercased() == deployment }) {
            throw APIError(
                .badRequest, "License cannot be used on this deployment!",
                detail: "The license is for the deployments \(license.deploymentIDs.joined(separator: ", ")); this deployment's ID is \(deployment)."
            )
        }
        return license
    }

    /// The change is committed; this replica's entitlements follow it before the answer.
    private func recompute() async throws {
        do {
            try await services.entitlements.refresh()
        } catch {
            throw APIError(.internalServerError, "Failed to update entitlements", underlying: error)
        }
    }
}
