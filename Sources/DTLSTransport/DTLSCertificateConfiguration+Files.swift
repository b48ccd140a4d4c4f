import Foundation

extension DTLSCertificateConfiguration {
    /// Reads PEM files: the own certificate chain and its key, and optionally the CA certificates peer
    /// certificates must chain to (a server then asks for client certificates and requires one when
    /// `requirePeerCertificate` is `true`). Throws ``DTLSError/Code/invalidConfiguration`` naming the file that
    /// cannot be read.
    public static func load(
        certificateFile: String, keyFile: String, caFile: String? = nil, requirePeerCertificate: Bool = true
    ) throws -> DTLSCertificateConfiguration {
        func read(_ path: String) throws -> String {
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw DTLSError.invalidConfiguration("cannot read \(path): \(error.localizedDescription)")
            }
        }
        return DTLSCertificateConfiguration(
            certificateChainPEM: try read(certificateFile), privateKeyPEM: try read(keyFile),
            trustAnchorsPEM: try caFile.map(read) ?? "", requirePeerCertificate: requirePeerCertificate)
    }
}
