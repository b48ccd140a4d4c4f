public import CoAPCore
public import Logging

/// What a bootstrap step gets from `LwM2MClientRuntime`.
public struct LwM2MBootstrapContext: Sendable {
    /// The bootstrap server's account (Security instance with /0/x/1 = true).
    public var account: LwM2MServerAccount
    /// The device's object tree; the bootstrap server's writes and deletes land here.
    public var tree: LwM2MObjectTree
    /// The endpoint client name for `POST /bs?ep=...`.
    public var endpointName: String
    /// Opens the connection to the bootstrap server (same factory as the server accounts).
    public var transports: any LwM2MTransportFactory
    /// The clock (virtual in tests).
    public var clock: any CoAPClock
    /// The runtime's logger.
    public var logger: Logger
    /// Reports a bootstrap event (`BOOTSTRAP_REG_COMPLETE`, `BOOTSTRAP_TRANSFER_COMPLETE`, ...) with an
    /// optional reason into the runtime's event stream.
    public var emit: @Sendable (LwM2MRDClientEvent, String?) -> Void

    /// Creates a context.
    public init(
        account: LwM2MServerAccount, tree: LwM2MObjectTree, endpointName: String,
        transports: any LwM2MTransportFactory, clock: any CoAPClock, logger: Logger,
        emit: @escaping @Sendable (LwM2MRDClientEvent, String?) -> Void
    ) {
        self.account = account
        self.tree = tree
        self.endpointName = endpointName
        self.transports = transports
        self.clock = clock
        self.logger = logger
        self.emit = emit
    }
}

/// The extension point for client-initiated bootstrap (Core TS 5.2.5).
///
/// `LwM2MClientRuntime` runs the step when a bootstrap account exists and either no usable server account
/// exists or every account failed (its connection or registration gave up), and when `requestBootstrap()` is
/// called (e.g. from the Bootstrap-Request Trigger /1/x/9). While the step runs, the runtime does not react to
/// changes of /0 and /1; when it returns, the runtime re-reads the accounts and starts their sessions. A thrown
/// error is reported as `BOOTSTRAP_REG_FAILURE` and the step is retried after the registration retry delay
/// (doubling up to the maximum).
public protocol LwM2MBootstrapStep: Sendable {
    /// Registers with the bootstrap server, applies its writes and deletes to `context.tree` and returns after
    /// Bootstrap-Finish; throws when bootstrap failed.
    func bootstrap(_ context: LwM2MBootstrapContext) async throws
}
