import Foundation

/// PEM <-> DER for the Security object: LwM2M keeps certificates and keys as DER in /0/x/3, /0/x/4 and /0/x/5,
/// OpenSSL and files on disk use PEM.
public enum LwM2MPEM {
    /// One `-----BEGIN label-----` block.
    public struct Block: Hashable, Sendable {
        /// The label, e.g. `CERTIFICATE` or `PRIVATE KEY`.
        public var label: String
        /// The decoded DER bytes.
        public var der: [UInt8]

        /// Creates a block.
        public init(label: String, der: [UInt8]) {
            self.label = label
            self.der = der
        }
    }

    /// The blocks of a PEM text in order; throws when a block is not closed or its body is not base64.
    public static func blocks(in pem: String) throws(LwM2MClientError) -> [Block] {
        var blocks: [Block] = []
        var label: String?
        var body = ""
        for rawLine in pem.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if let current = label {
                if line == "-----END \(current)-----" {
                    guard let data = Data(base64Encoded: body) else {
                        throw LwM2MClientError.badRequest("PEM block \(current) is not valid base64")
                    }
                    blocks.append(Block(label: current, der: Array(data)))
                    label = nil
                    body = ""
                } else if !line.contains(":") {  // skip RFC 1421 headers (Proc-Type: ...)
                    body += line
                }
            } else if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                label = String(line.dropFirst("-----BEGIN ".count).dropLast(5))
            }
        }
        if let label { throw LwM2MClientError.badRequest("PEM block \(label) is not closed") }
        return blocks
    }

    /// The DER bytes of the first block, or of the first block with `label` when given.
    public static func der(fromPEM pem: String, label: String? = nil) throws(LwM2MClientError) -> [UInt8] {
        guard let block = try blocks(in: pem).first(where: { label == nil || $0.label == label }) else {
            throw LwM2MClientError.badRequest("no PEM block\(label.map { " \($0)" } ?? "") found")
        }
        return block.der
    }

    /// PEM text for DER bytes with `label` (64-column base64 lines).
    public static func pem(fromDER der: [UInt8], label: String) -> String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(base64)\n-----END \(label)-----\n"
    }

    /// PEM text for a DER private key: `PRIVATE KEY` for PKCS #8 (version 0 followed by an algorithm
    /// identifier), `EC PRIVATE KEY` for SEC 1 (version 1 followed by the key octets).
    public static func privateKeyPEM(fromDER der: [UInt8]) -> String {
        // SEQUENCE (30 len) INTEGER (02 01 v): skip the SEQUENCE header, whose length takes 1-3 bytes.
        var i = 1
        if der.count > 1 { i += der[1] & 0x80 != 0 ? 1 + Int(der[1] & 0x7F) : 1 }
        let isSEC1 = der.count > i + 3 && der[i] == 0x02 && der[i + 1] == 0x01 && der[i + 2] == 0x01 && der[i + 3] == 0x04
        return pem(fromDER: der, label: isSEC1 ? "EC PRIVATE KEY" : "PRIVATE KEY")
    }
}
