public import NIOCore

/// The client's ordering rule for notifications (RFC 7641 section 3.4): a notification is fresh when its
/// 24-bit Observe value is newer than the last one in serial-number arithmetic, or when more than 128 seconds
/// passed since the last fresh one (the server may have restarted or wrapped its counter).
public struct CoAPObserveFreshness: Hashable, Sendable {
    /// The largest 24-bit Observe value plus one.
    public static let modulus: UInt32 = 1 << 24
    /// How long a gap makes any value fresh again.
    public static let resetInterval: TimeAmount = .seconds(128)

    /// The Observe value of the last fresh notification.
    public private(set) var lastValue: UInt32
    /// When the last fresh notification arrived.
    public private(set) var lastTime: NIODeadline

    /// Starts with the registration response's value and arrival time.
    public init(value: UInt32, time: NIODeadline) {
        self.lastValue = value & (Self.modulus - 1)
        self.lastTime = time
    }

    /// Whether `value` arriving at `time` is newer than the last fresh notification (does not record it).
    public func isFresh(_ value: UInt32, at time: NIODeadline) -> Bool {
        let v1 = lastValue
        let v2 = value & (Self.modulus - 1)
        let half: UInt32 = 1 << 23
        return (v1 < v2 && v2 - v1 < half) || (v1 > v2 && v1 - v2 > half) || time > lastTime + Self.resetInterval
    }

    /// Records `value` at `time` when it is fresh; returns whether it was.
    public mutating func accept(_ value: UInt32, at time: NIODeadline) -> Bool {
        guard isFresh(value, at: time) else { return false }
        lastValue = value & (Self.modulus - 1)
        lastTime = time
        return true
    }
}
