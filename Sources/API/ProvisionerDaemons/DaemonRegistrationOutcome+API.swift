import Store

extension DaemonRegistrationOutcome {
    /// The registered daemon's row, or the refusal as the API answers it. The answers name the
    /// daemon (`name`, which the outcome does not carry) and say what to do about it.
    func registeredDaemon(named name: String) throws -> ProvisionerDaemonRecord {
        switch self {
        case .registered(let registered, _):
            return registered
        case .heldByAnotherOwner(let holder):
            throw APIError(
                .conflict, "A provisioner daemon named \"\(name)\" is already registered in this organization by another owner.",
                detail: "That name belongs to a daemon of \(holder.scope) scope\(holder.ownerID == nil ? "" : " owned by another user"). Choose another name with --name."
            )
        case .connectedElsewhere:
            throw APIError(
                .conflict, "A provisioner daemon named \"\(name)\" is already connected from another process.",
                detail: "Two daemons are using the same name (the same default host name, or a copied configuration). Give each its own name with --name."
            )
        case .capReached(.user(let limit)):
            throw APIError(
                .tooManyRequests, "You already have \(limit) provisioner daemons connected to this organization, the most one user may run.",
                detail: "Stop one of them and connect again, or ask an operator to raise --provisioner-daemons-per-user."
            )
        case .capReached(.userNames(let limit)):
            throw APIError(
                .tooManyRequests, "You already hold \(limit) provisioner daemon names in this organization, the most one user may.",
                detail: "Connect under one of your daemons' names again (--name), or wait for the names of daemons long gone to be purged (--provisioner-daemon-retention); the limit is ten times --provisioner-daemons-per-user."
            )
        case .capReached(.organization(let limit)):
            throw APIError(
                .tooManyRequests, "This organization already has \(limit) provisioner daemons connected, the most it may have.",
                detail: "Stop one of them and connect again, or ask an operator to raise --provisioner-daemons-per-organization."
            )
        }
    }
}
