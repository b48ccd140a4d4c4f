public import CoAPCore
public import LwM2MModel

/// The kinds of downlink requests whose payload or Accept format the server chooses.
public enum LwM2MRequestKind: Sendable, Hashable {
    /// Read, Observe (Accept).
    case read
    /// Write / Create payloads.
    case write
    /// Read-Composite, Observe-Composite, Write-Composite (SenML or LwM2M CBOR only).
    case composite
}

/// Chooses the content format of a request to a registered client; the server's default is
/// `ContentFormatPolicy.standard`, and every downlink call may override it.
public struct ContentFormatPolicy: Sendable {
    /// The choice: for `registration`, a request of `kind` on `path`.
    public var choose: @Sendable (_ registration: Registration, _ kind: LwM2MRequestKind, _ path: LwM2MPath) -> CoAPContentFormat

    /// Creates a policy from a function.
    public init(_ choose: @escaping @Sendable (Registration, LwM2MRequestKind, LwM2MPath) -> CoAPContentFormat) {
        self.choose = choose
    }

    /// The default policy:
    /// - LwM2M 1.0 clients: TLV (the one multi-value format 1.0 clients must support), composite is not
    ///   defined in 1.0 and gets SenML JSON.
    /// - LwM2M 1.1+: the first of SenML CBOR, SenML JSON, TLV, LwM2M JSON the client listed in `ct`; with no `ct`,
    ///   SenML CBOR for composite requests and TLV otherwise (widest support among 1.1 clients).
    public static let standard = ContentFormatPolicy { registration, kind, _ in
        if registration.version == .v1_0 {
            return kind == .composite ? .senmlJSON : .lwm2mTLV
        }
        let preferred: [CoAPContentFormat] =
            kind == .composite ? [.senmlCBOR, .senmlJSON, .lwm2mCBOR] : [.senmlCBOR, .senmlJSON, .lwm2mTLV, .lwm2mJSON]
        for format in preferred where registration.supports(format) { return format }
        return kind == .composite ? .senmlCBOR : .lwm2mTLV
    }
}
