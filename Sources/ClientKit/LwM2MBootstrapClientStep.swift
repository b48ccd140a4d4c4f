import CoAPCore
public import Codecs
public import NIOCore

/// The bootstrap step of `LwM2MClientRuntime` built on `LwM2MBootstrapClient`: opens a connection to the
/// bootstrap account through the runtime's transport factory (UDP, or DTLS with the bootstrap account's own
/// credentials), runs one client-initiated bootstrap on it and returns after an accepted Bootstrap-Finish; the
/// runtime then registers with the accounts the bootstrap server wrote. A failed attempt (request rejected or
/// unanswered, no acceptable Finish within the session timeout) throws, and the runtime retries it with its
/// back-off. `BOOTSTRAP_REG_COMPLETE` and `BOOTSTRAP_TRANSFER_COMPLETE` go to the runtime's events; the
/// runtime reports `BOOTSTRAP_REG_FAILURE` with the reason.
///
/// ```swift
/// let runtime = LwM2MClientRuntime(
///     configuration: .init(registration: .init(endpointName: "dev1"), bootstrap: LwM2MBootstrapClientStep()),
///     tree: tree, transports: LwM2MNetworkTransportFactory())
/// ```
public struct LwM2MBootstrapClientStep: LwM2MBootstrapStep {
    /// The enabler version (1.1 sends `pct=`).
    public var version: LwM2MEnablerVersion
    /// The preferred content format (`pct=`, 1.1 only).
    public var preferredFormat: LwM2MContentFormat?
    /// How long the bootstrap server has for an acceptable Bootstrap-Finish.
    public var sessionTimeout: TimeAmount

    /// Creates the step.
    public init(
        version: LwM2MEnablerVersion = .v1_1, preferredFormat: LwM2MContentFormat? = .senmlCBOR,
        sessionTimeout: TimeAmount = .seconds(247)
    ) {
        self.version = version
        self.preferredFormat = preferredFormat
        self.sessionTimeout = sessionTimeout
    }

    /// Runs one bootstrap attempt.
    public func bootstrap(_ context: LwM2MBootstrapContext) async throws {
        let connection = try await context.transports.connect(context.account)
        let endpoint = CoAPEndpoint(transport: connection.transport, clock: context.clock, logger: context.logger)
        // One attempt: the runtime owns the retries and their back-off.
        let configuration = LwM2MClientBootstrapConfiguration(
            endpointName: context.endpointName, version: version, preferredFormat: preferredFormat,
            sessionTimeout: sessionTimeout, maximumAttempts: 1)
        let server = connection.server
        let client = LwM2MBootstrapClient(
            configuration: configuration, tree: context.tree, endpoint: endpoint, resolver: { _ in server },
            handlesTrigger: false, logger: context.logger)
        let forward = Task {
            for await event in client.events
            where event == .bootstrapRegistrationComplete || event == .bootstrapTransferComplete {
                context.emit(event, nil)
            }
        }
        let finished: Bool
        do {
            finished = try await withTaskCancellationHandler {
                try await client.bootstrap()
            } onCancel: {
                Task { await client.stop() }
            }
        } catch {
            await client.close()
            await forward.value
            await endpoint.close()
            throw error
        }
        await client.close()
        await forward.value
        // Let the 2.04 to Bootstrap-Finish go out before the transport closes.
        await endpoint.close(gracefully: true)
        guard finished else {
            throw LwM2MClientError(code: .internalError, reason: "no acceptable Bootstrap-Finish from \(context.account.serverURI)")
        }
    }
}
