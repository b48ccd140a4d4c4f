/// The transports a client can be reached over, from the `b` registration parameter (Core TS 6.2.1.1,
/// 5.3.1.1 in 1.0): `U` (UDP), `S` (SMS), `N` (Non-IP), `T` (TCP).
public struct LwM2MBinding: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    /// Creates a binding set from its bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// UDP (`U`).
    public static let udp = LwM2MBinding(rawValue: 1 << 0)
    /// SMS (`S`).
    public static let sms = LwM2MBinding(rawValue: 1 << 1)
    /// Non-IP (`N`, LwM2M 1.1).
    public static let nonIP = LwM2MBinding(rawValue: 1 << 2)
    /// TCP (`T`, LwM2M 1.1).
    public static let tcp = LwM2MBinding(rawValue: 1 << 3)

    /// The letters in canonical order, e.g. `US`.
    public var description: String {
        var s = ""
        if contains(.udp) { s += "U" }
        if contains(.sms) { s += "S" }
        if contains(.nonIP) { s += "N" }
        if contains(.tcp) { s += "T" }
        return s
    }

    /// Parses a binding parameter. LwM2M 1.0 writes queue mode as a `Q` after a transport letter (`UQ`, `UQS`,
    /// `SQ`); 1.1 and later use the separate `Q` parameter, but a `Q` in the binding is still accepted from any
    /// client (unmodified 1.1 clients send it) and reported as queue mode.
    ///
    /// Returns `nil` for an empty value, unknown or repeated letters, or a `Q` not following `U` or `S`.
    public static func parse(_ text: some StringProtocol) -> (binding: LwM2MBinding, queueMode: Bool)? {
        var binding: LwM2MBinding = []
        var queue = false
        var previous: Character?
        for c in text {
            let bit: LwM2MBinding
            switch c {
            case "U": bit = .udp
            case "S": bit = .sms
            case "N": bit = .nonIP
            case "T": bit = .tcp
            case "Q":
                // Once, right after U or S.
                guard !queue, previous == "U" || previous == "S" else { return nil }
                queue = true
                previous = c
                continue
            default: return nil
            }
            guard !binding.contains(bit) else { return nil }
            binding.insert(bit)
            previous = c
        }
        guard !binding.isEmpty else { return nil }
        return (binding, queue)
    }
}
