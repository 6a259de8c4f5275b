import Foundation
import ProvisionerProtocol
import Store
import WireFormat

/// The daemon protocol as one connection sees it, without I/O: protocol messages and the results
/// of the work it asked for go in; messages to send and work to do (database, acquirer) come out.
/// `DaemonSession` is the thin adapter that does the work. Everything a hostile daemon can send is
/// decided here, so it is unit-tested exhaustively, as the WebSocket state machine is.
public struct DaemonSessionCore: Sendable {
    /// Why the connection must close.
    public enum Close: Sendable, Equatable {
        /// Not the protocol: close with 1008.
        case protocolViolation(String)
        case unsupportedVersion(Int)
    }

    /// What the adapter must do, in order.
    public enum Action: Sendable, Equatable {
        case send(CoordinatorMessage)
        case close(Close)
        /// Store what the daemon's `hello` says each provisioner runs (the daemons list shows it).
        case recordProvisionerVersions([String: String])
        /// Reclaim the daemon's jobs other than `reclaimExcept`, then wait for a job (report it
        /// with `acquired`, or the wait's end with `acquireEnded`).
        case acquire(requestID: Int64, reclaimExcept: [UUID])
        case cancelAcquire(requestID: Int64)
        /// Move the lease to this connection if it is current (report with `resumed`).
        case resume(requestID: Int64, JobLease)
        /// Store the lines under the lease (report with `updated`).
        case update(requestID: Int64, JobLease, [JobLogLine])
        /// Decide the build's quota at `dailyCost` under the lease (report with `quotaCommitted`).
        case commitQuota(requestID: Int64, JobLease, dailyCost: Int64)
        /// End the job under the lease (report with `finished`); on success, send `reply`.
        /// `variables`: what an import found its template declares (stored with the version).
        case finish(requestID: Int64, JobLease, JobOutcome, resources: [JobResource], state: [UInt8]?, variables: [TemplateVariable] = [], reply: CoordinatorMessage)
        /// The connection is over: fail every job it holds with `error` (resuming them would only
        /// repeat what ended it).
        case failConnectionJobs(error: String)
        /// The connection is over: put back jobs taken for it that never reached the daemon.
        case releaseUndelivered([JobLease])
        /// The connection is over: its remaining leases start their grace period, and the daemon
        /// is marked disconnected (unless a newer connection has taken over).
        case disconnect
    }

    /// How the connection ended.
    public enum Ending: Sendable, Equatable {
        case closed
        /// A message over the limit, either way: the held jobs cannot be finished through this
        /// daemon, so they fail.
        case messageTooBig(limit: Int)
    }

    public let daemonID: UUID
    public let replicaID: UUID
    public private(set) var helloSeen = false
    /// Leases this connection holds: only these may be updated, committed, completed or failed.
    public private(set) var leases: Set<JobLease> = []
    /// The one acquire that may wait at a time.
    public private(set) var waitingAcquire: Int64?
    /// Jobs taken for this connection whose sending failed.
    public private(set) var undelivered: Set<JobLease> = []
    private var ending: Ending?
    public var isEnded: Bool { ending != nil }

    /// The replica's `--job-hang-timeout`, told to the daemon in `welcome`.
    public let jobHangTimeout: Duration?

    public init(daemonID: UUID, replicaID: UUID, jobHangTimeout: Duration? = nil) {
        self.daemonID = daemonID
        self.replicaID = replicaID
        self.jobHangTimeout = jobHangTimeout
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds &* 1000 &+ duration.components.attoseconds / 1_000_000_000_000_000
    }

    // MARK: messages from the daemon

    public mutating func receive(_ text: String) -> [Action] {
        guard !isEnded else { return [] }
        let message: DaemonMessage
        switch Self.decode(text) {
        case .success(let decoded):
            message = decoded
        case .failure(let error):
            return [.send(.error(id: nil, code: .badRequest, message: error.description)), .close(.protocolViolation(error.description))]
        }
        guard helloSeen else { return hello(message) }
        switch message {
        case .hello:
            return [.close(.protocolViolation("\"hello\" was already sent"))]
        case .acquire(let id):
            // A daemon holds one job at a time, so it has no use for a second waiting acquire;
            // refusing it bounds what one connection can ask of the database.
            if let waiting = waitingAcquire {
                return [.send(.error(id: id, code: .badRequest, message: "acquire \(waiting) is still waiting; send one acquire at a time"))]
            }
            waitingAcquire = id
            // Asking for work means the daemon holds nothing else: jobs still leased to it that it
            // did not resume here never reached it, or died with an earlier process of it.
            return [.acquire(requestID: id, reclaimExcept: leases.map(\.jobID).sorted { $0.uuidString < $1.uuidString })]
        case .cancelAcquire(let id):
            return waitingAcquire == id ? [.cancelAcquire(requestID: id)] : []
        case .resume(let id, let lease):
            // Only the daemon a lease names may resume it.
            guard lease.daemonID == daemonID else { return [.send(Self.notCurrent(id, lease))] }
            return [.resume(requestID: id, lease)]
        case .update(let id, let lease, let logs):
            guard let jobLease = held(lease) else { return [.send(Self.stale(id, lease))] }
            return [.update(requestID: id, jobLease, logs.map { JobLogLine(createdAt: $0.createdAt, level: $0.level, stage: $0.stage, output: $0.output) })]
        case .commitQuota(let id, let lease, let dailyCost):
            guard let jobLease = held(lease) else { return [.send(Self.stale(id, lease))] }
            return [.commitQuota(requestID: id, jobLease, dailyCost: dailyCost)]
        case .complete(let id, let lease, let result):
            guard let jobLease = held(lease) else { return [.send(Self.stale(id, lease))] }
            switch JobReport.validate(result) {
            case .invalid(let reason):
                // Failing the job ends it cleanly: sent again (after a reconnect), the same result
                // would be refused again.
                return [.finish(
                    requestID: id, jobLease, .failed(error: "The provisioner daemon reported an invalid result: \(reason)", errorCode: nil),
                    resources: [], state: nil, reply: .error(id: id, code: .badRequest, message: reason)
                )]
            case .valid(let resources, let state):
                let json = (try? WireJSON.encodeString(result)) ?? "{}"
                return [.finish(requestID: id, jobLease, .completed(result: json), resources: resources, state: state, variables: result.variables ?? [], reply: .done(id: id))]
            }
        case .fail(let id, let lease, let error, let state):
            guard let jobLease = held(lease) else { return [.send(Self.stale(id, lease))] }
            // A failure is recorded whatever else is wrong with it; a state we cannot take is left
            // out (the last good one is kept).
            return [.finish(
                requestID: id, jobLease, .failed(error: JobReport.errorText(error), errorCode: nil),
                resources: [], state: JobReport.state(state), reply: .done(id: id)
            )]
        }
    }

    private mutating func hello(_ message: DaemonMessage) -> [Action] {
        guard case .hello(let hello) = message else {
            return [.close(.protocolViolation("the first message must be \"hello\""))]
        }
        guard ProvisionerProtocolVersion.supported.contains(hello.version) else {
            return [
                .send(.error(id: nil, code: .unsupportedVersion, message: "protocol version \(hello.version) is not supported; this coordinator speaks \(ProvisionerProtocolVersion.supported)")),
                .close(.unsupportedVersion(hello.version)),
            ]
        }
        helloSeen = true
        let welcome: [Action] = [.send(.welcome(Welcome(version: hello.version, daemonID: daemonID, replicaID: replicaID, jobHangTimeoutMS: jobHangTimeout.map(Self.milliseconds))))]
        // A daemon's text, shown to every reader of the list: taken only within the tags' limits.
        guard let versions = hello.provisionerVersions, !versions.isEmpty, (try? ProvisionerTagList.check(versions)) != nil else { return welcome }
        return welcome + [.recordProvisionerVersions(versions)]
    }

    // MARK: results of the work

    /// The acquire found a job for the daemon: send it.
    public mutating func acquired(requestID: Int64, _ job: AcquiredJob) -> [Action] {
        if waitingAcquire == requestID { waitingAcquire = nil }
        leases.insert(job.lease)
        return [.send(.job(id: requestID, job: job))]
    }

    /// Sending a job failed: the connection is over; `end` deals with it.
    public mutating func deliveryFailed(_ lease: JobLease) {
        leases.remove(lease)
        undelivered.insert(lease)
    }

    /// A job was taken for the acquire but could not be made ready to send (its payload could not
    /// be read): it goes back at once, and the daemon is told, so that it asks again.
    public mutating func preparationFailed(requestID: Int64, _ lease: JobLease, reason: String) -> [Action] {
        if waitingAcquire == requestID { waitingAcquire = nil }
        leases.remove(lease)
        return [.releaseUndelivered([lease])] + (isEnded ? [] : [.send(.error(id: requestID, code: .internalError, message: reason))])
    }

    /// The acquire ended without a job (cancelled).
    public mutating func acquireEnded(requestID: Int64) -> [Action] {
        guard waitingAcquire == requestID else { return [] }
        waitingAcquire = nil
        return isEnded ? [] : [.send(.acquireCanceled(id: requestID))]
    }

    /// The resume was applied (`job` is what to send again) or the lease was not current (nil).
    public mutating func resumed(requestID: Int64, _ lease: JobLease, job: AcquiredJob?) -> [Action] {
        guard let job else { return [.send(Self.notCurrent(requestID, lease))] }
        leases.insert(lease)
        return [.send(.job(id: requestID, job: job))]
    }

    /// The update was stored (`canceled`: whether the job was canceled) or the lease was stale (nil).
    public mutating func updated(requestID: Int64, _ lease: JobLease, canceled: Bool?) -> [Action] {
        guard let canceled else {
            leases.remove(lease)
            return [.send(Self.stale(requestID, lease))]
        }
        return [.send(.updated(id: requestID, canceled: canceled))]
    }

    /// The quota was decided, or the lease was stale (nil).
    public mutating func quotaCommitted(requestID: Int64, _ lease: JobLease, _ decision: QuotaDecision?) -> [Action] {
        guard let decision else {
            leases.remove(lease)
            return [.send(Self.stale(requestID, lease))]
        }
        return [.send(.quota(id: requestID, ok: decision.ok, creditsConsumed: decision.creditsConsumed, budget: decision.budget))]
    }

    /// The quota could not be decided (the database failed, or the lock was not had within its
    /// timeout): the daemon fails the build with the reason, and the connection goes on.
    public func quotaFailed(requestID: Int64) -> [Action] {
        [.send(.error(id: requestID, code: .internalError, message: "the workspace quota could not be decided; try the build again"))]
    }

    /// The job was ended (`applied`), or the lease was stale.
    public mutating func finished(requestID: Int64, _ lease: JobLease, applied: Bool, reply: CoordinatorMessage) -> [Action] {
        leases.remove(lease)
        return [.send(applied ? reply : Self.stale(requestID, lease))]
    }

    /// A job was canceled somewhere: the daemon holding it here hears at once.
    public func jobCanceled(_ jobID: UUID) -> [Action] {
        leases.contains { $0.jobID == jobID } ? [.send(.cancel(jobID: jobID))] : []
    }

    /// The connection is over: first the waiting acquire is cancelled (`end`); once it has ended
    /// (and reported a job it could not deliver, if any), `cleanUp` says what to do with the jobs.
    public mutating func end(_ ending: Ending) -> [Action] {
        guard !isEnded else { return [] }
        self.ending = ending
        return waitingAcquire.map { [.cancelAcquire(requestID: $0)] } ?? []
    }

    public func cleanUp() -> [Action] {
        switch ending {
        case .messageTooBig(let limit)?:
            // Held and undelivered jobs alike: whichever side's message was too big, sending it
            // again (to this daemon after a reconnect, or to another like it) would fail the same way.
            return [
                .failConnectionJobs(error: "A message between the coordinator and the provisioner daemon was larger than the other side accepts (the coordinator's limit is \(limit) bytes): the template archive or the provisioner's state is too large for this daemon."),
                .disconnect,
            ]
        case .closed?, nil:
            let release: [Action] = undelivered.isEmpty ? [] : [.releaseUndelivered(undelivered.sorted { $0.jobID.uuidString < $1.jobID.uuidString })]
            return release + [.disconnect]
        }
    }

    // MARK: helpers

    private func held(_ lease: Lease) -> JobLease? {
        leases.contains(lease) ? lease : nil
    }


    static func stale(_ id: Int64, _ lease: Lease) -> CoordinatorMessage {
        .error(id: id, code: .staleLease, message: "lease \(lease.jobID) epoch \(lease.epoch) is not held on this connection: resume it first, or the job has ended")
    }

    static func notCurrent(_ id: Int64, _ lease: Lease) -> CoordinatorMessage {
        .error(id: id, code: .staleLease, message: "lease \(lease.jobID) epoch \(lease.epoch) is not current: the job ended or another daemon holds it")
    }

    private static func decode(_ text: String) -> Result<DaemonMessage, ProvisionerCoding.DecodingFailure> {
        Result { () throws(ProvisionerCoding.DecodingFailure) in try ProvisionerCoding.decodeDaemonMessage(text) }
    }
}
