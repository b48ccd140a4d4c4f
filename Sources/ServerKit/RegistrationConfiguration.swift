public import CoAPCore
public import LwM2MModel
public import NIOCore

/// Settings of the registration interface.
public struct RegistrationConfiguration: Sendable {
    /// The LwM2M versions accepted; a Register with another well-formed version gets 4.12 Precondition Failed.
    public var supportedVersions: Set<LwM2MVersion> = [.v1_0, .v1_1, .v1_2]
    /// The lifetimes (seconds) accepted; others get 4.00 Bad Request. The default allows 1 s to 1 year.
    public var lifetimeRange: ClosedRange<UInt32> = 1...31_536_000
    /// The lifetime of a client that sends no `lt` (the specification's default).
    public var defaultLifetime: UInt32 = 86400
    /// Extra time after the lifetime before a registration expires (network delay, retransmissions).
    public var expiryGrace: TimeAmount = .seconds(15)
    /// The most registrations the server holds; a Register beyond gets 5.03 Service Unavailable.
    public var maxRegistrations: Int = 1_000_000
    /// The most Register requests accepted from one IP address per `registerRateWindow` (`nil`: no limit);
    /// more get 5.03 Service Unavailable with Max-Age.
    public var registerRateLimit: Int? = 100
    /// The window of `registerRateLimit`.
    public var registerRateWindow: TimeAmount = .seconds(1)
    /// The longest endpoint name accepted (bytes).
    public var maxEndpointNameLength: Int = 250
    /// The largest registration payload accepted (bytes); larger gets 4.13.
    public var maxPayloadSize: Int = 64 * 1024
    /// The first Uri-Path segment of the registration interface.
    public var registrationPath: String = "rd"
    /// Decodes Send (`POST /dp`) payloads (SenML JSON/CBOR, LwM2M CBOR) into records; `nil` answers Send with
    /// 5.01 Not Implemented. The server plugs in Codecs here.
    public var sendDecoder: (@Sendable (_ format: CoAPContentFormat, _ payload: ByteBuffer) throws -> [LwM2MRecord])?

    /// The credentials of the endpoints (`nil`: no checks). With a store, a Register must come from the DTLS
    /// identity (PSK identity or certificate CN) stored for its endpoint, and over plain CoAP only for endpoints
    /// the store allows NoSec; otherwise it gets 4.03 Forbidden. Update and De-register must always come from
    /// the identity that registered (or again without one), with or without a store.
    public var security: (any LwM2MSecurityStore)?

    /// The default configuration.
    public init() {}
}
