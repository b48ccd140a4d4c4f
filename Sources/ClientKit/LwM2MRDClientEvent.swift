/// The events of the registration engine: the same set, names and meaning as Zephyr's RD client events
/// (`LWM2M_RD_CLIENT_EVENT_*`). The raw value is Zephyr's name.
public enum LwM2MRDClientEvent: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Bootstrap registration failed (timeout or rejection). Declared for the bootstrap client.
    case bootstrapRegistrationFailure = "BOOTSTRAP_REG_FAILURE"
    /// Bootstrap registration completed. Declared for the bootstrap client.
    case bootstrapRegistrationComplete = "BOOTSTRAP_REG_COMPLETE"
    /// The bootstrap server sent Bootstrap-Finish. Declared for the bootstrap client.
    case bootstrapTransferComplete = "BOOTSTRAP_TRANSFER_COMPLETE"
    /// The server rejected a Register (or an Update); the engine retries with back-off.
    case registrationFailure = "REGISTRATION_FAILURE"
    /// The server accepted the Register; the client can send and receive data.
    case registrationComplete = "REGISTRATION_COMPLETE"
    /// The registration status was lost (a Register or Update timed out); the engine re-registers.
    case registrationTimeout = "REG_TIMEOUT"
    /// The server accepted an Update.
    case registrationUpdateComplete = "REG_UPDATE_COMPLETE"
    /// The De-register timed out or was rejected; the engine goes idle anyway.
    case deregisterFailure = "DEREGISTER_FAILURE"
    /// The client de-registered (or gave up) because the application stopped it.
    case disconnect = "DISCONNECT"
    /// Queue mode: the awake window passed and the client no longer listens; sending data wakes it.
    case queueModeRxOff = "QUEUE_MODE_RX_OFF"
    /// The engine was paused: no timers run and nothing is sent until it is resumed.
    case engineSuspended = "ENGINE_SUSPENDED"
    /// The server executed Disable (/1/x/4): the client de-registers and stays away for the disable time.
    case serverDisabled = "SERVER_DISABLED"
    /// Sending failed too many times in a row; the engine stopped and must be started again.
    case networkError = "NETWORK_ERROR"

    /// Zephyr's event name, e.g. `REGISTRATION_COMPLETE`.
    public var description: String { rawValue }
}
