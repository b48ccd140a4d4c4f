public import LwM2MModel
public import NIOCore

/// The notification attributes that decide when an observation reports (Core TS 5.1.2): the effective
/// values after inheritance (resource over instance over object over the server's defaults).
public struct LwM2MNotificationAttributes: Sendable, Hashable {
    /// Minimum period in seconds between notifications.
    public var pmin: UInt32?
    /// Maximum period in seconds without a notification.
    public var pmax: UInt32?
    /// Greater Than: notify when the value crosses it.
    public var gt: Double?
    /// Less Than: notify when the value crosses it.
    public var lt: Double?
    /// Step: notify when the value moved at least this much since the last notification.
    public var st: Double?

    /// Creates attributes.
    public init(pmin: UInt32? = nil, pmax: UInt32? = nil, gt: Double? = nil, lt: Double? = nil, st: Double? = nil) {
        self.pmin = pmin
        self.pmax = pmax
        self.gt = gt
        self.lt = lt
        self.st = st
    }

    /// These attributes with every unset one taken from `parent`.
    public func inheriting(from parent: LwM2MNotificationAttributes) -> LwM2MNotificationAttributes {
        LwM2MNotificationAttributes(
            pmin: pmin ?? parent.pmin, pmax: pmax ?? parent.pmax, gt: gt ?? parent.gt, lt: lt ?? parent.lt,
            st: st ?? parent.st)
    }

    /// Whether a change from `old` to `new` is worth reporting under gt/lt/st (always true without them or
    /// for non-numeric values).
    public func isReportable(from old: Double?, to new: Double?) -> Bool {
        guard gt != nil || lt != nil || st != nil, let new else { return true }
        guard let old else { return true }
        if let gt, (old <= gt) != (new <= gt) { return true }
        if let lt, (old < lt) != (new < lt) { return true }
        if let st, abs(new - old) >= st { return true }
        return false
    }
}

/// When observations notify, as a pure state machine (Core TS 6.4, RFC 7641): changes and time in,
/// observation IDs to notify out. A reportable change inside pmin is held back and sent (with the latest
/// value) when pmin expires, so no state change is lost; pmax forces a notification.
public struct LwM2MNotificationStateMachine: Sendable {
    struct Observation: Sendable {
        var path: LwM2MPath
        var attributes: LwM2MNotificationAttributes
        var lastSentAt: NIODeadline
        /// Where the pmax period counts from: the last notification's scheduled pmax deadline when it went
        /// out because of pmax (a late timer does not push later periods back), else its actual time.
        var periodStart: NIODeadline
        var lastSentValue: Double?
        var pending = false
    }

    private var observations: [UInt64: Observation] = [:]

    /// Creates an empty state machine.
    public init() {}

    /// The observed paths by observation ID.
    public var paths: [UInt64: LwM2MPath] { observations.mapValues(\.path) }

    /// Adds observation `id` of `path`; the response carrying `value` counts as its first notification.
    public mutating func add(_ id: UInt64, path: LwM2MPath, attributes: LwM2MNotificationAttributes, value: Double?, now: NIODeadline) {
        observations[id] = Observation(
            path: path, attributes: attributes, lastSentAt: now, periodStart: now, lastSentValue: value)
    }

    /// Changes the attributes of every observation of `path` (after Write-Attributes).
    public mutating func update(_ id: UInt64, attributes: LwM2MNotificationAttributes) {
        observations[id]?.attributes = attributes
    }

    /// Removes observation `id`.
    public mutating func remove(_ id: UInt64) {
        observations.removeValue(forKey: id)
    }

    /// Reports changed resource paths; `value` gives the current numeric value of a resource path (for
    /// gt/lt/st). Returns the observations to notify now; others may be held back until pmin.
    public mutating func changed(
        _ changed: Set<LwM2MPath>, now: NIODeadline, value: (LwM2MPath) -> Double?
    ) -> [UInt64] {
        var due: [UInt64] = []
        for (id, var o) in observations {
            guard changed.contains(where: { o.path.isPrefix(of: $0) || $0.isPrefix(of: o.path) }) else { continue }
            let current = o.path.level >= .resource ? value(o.path) : nil
            guard o.attributes.isReportable(from: o.lastSentValue, to: current) else { continue }
            o.pending = true
            observations[id] = o
            if now >= o.lastSentAt + .seconds(Int64(o.attributes.pmin ?? 0)) { due.append(id) }
        }
        return due.sorted()
    }

    /// The observations whose pmin hold-back or pmax ran out at `now`.
    public func due(at now: NIODeadline) -> [UInt64] {
        observations.compactMap { id, o in deadline(of: o).map { $0 <= now ? id : nil } ?? nil }.sorted()
    }

    /// Records that observation `id` notified `value` at `now`.
    /// When pmax forced it (its pmax deadline has passed), the next pmax period counts from that deadline, so
    /// pmax notifications keep their period under a late or coarse timer; after a stall longer than pmax the
    /// period restarts at `now` (one notification, no catch-up burst).
    public mutating func sent(_ id: UInt64, value: Double?, now: NIODeadline) {
        guard let o = observations[id] else { return }
        var start = now
        if let pmax = o.attributes.pmax, pmax > 0 {
            let period = TimeAmount.seconds(Int64(pmax))
            let forced = o.periodStart + period
            if forced <= now, now - forced < period { start = forced }
        }
        observations[id]?.periodStart = start
        observations[id]?.lastSentAt = now
        observations[id]?.lastSentValue = value
        observations[id]?.pending = false
    }

    /// The earliest time an observation must notify.
    public var nextDeadline: NIODeadline? {
        observations.values.compactMap { deadline(of: $0) }.min()
    }

    private func deadline(of o: Observation) -> NIODeadline? {
        let pmin = Int64(o.attributes.pmin ?? 0)
        var result: NIODeadline?
        if o.pending { result = o.lastSentAt + .seconds(pmin) }
        if let pmax = o.attributes.pmax, pmax > 0, Int64(pmax) >= pmin {
            let forced = o.periodStart + .seconds(Int64(pmax))
            result = result.map { min($0, forced) } ?? forced
        }
        return result
    }
}
