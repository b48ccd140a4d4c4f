public import CoAPCore
public import LwM2MModel

extension CoAPPeerIdentity {
    /// The identity as a security store understands it (PSK identity or certificate common name).
    public var securityCredential: LwM2MSecurityCredential {
        switch self {
        case .psk(let identity): return .psk(identity: identity)
        case .certificate(let commonName): return .certificate(commonName: commonName)
        }
    }
}
