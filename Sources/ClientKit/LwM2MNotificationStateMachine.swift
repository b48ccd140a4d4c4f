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
    /// Minimum Evaluation Period (1.1) in seconds: the client evaluates the notification criteria at most this
    /// often; a change inside it is evaluated (with the then current value) when it ends.
    public var epmin: UInt32?
    /// Maximum Evaluation Period (1.1) in seconds: the client samples the value and evaluates the criteria at
    /// least this often, also when no change was reported (values read through callbacks). Ignored unless it
    /// is greater than `epmin`.
    public var epmax: UInt32?

    /// Creates attributes.
    public init(
        pmin: UInt32? = nil, pmax: UInt32? = nil, gt: Double? = nil, lt: Double? = nil, st: Double? = nil,
        epmin: UInt32? = nil, epmax: UInt32? = nil
    ) {
        self.pmin = pmin
        self.pmax = pmax
        self.gt = gt
        self.lt = lt
        self.st = st
        self.epmin = epmin
        self.epmax = epmax
    }

    /// These attributes with every unset one taken from `parent`.
    public func inheriting(from parent: LwM2MNotificationAttributes) -> LwM2MNotificationAttributes {
        LwM2MNotificationAttributes(
            pmin: pmin ?? parent.pmin, pmax: pmax ?? parent.pmax, gt: gt ?? parent.gt, lt: lt ?? parent.lt,
            st: st ?? parent.st, epmin: epmin ?? parent.epmin, epmax: epmax ?? parent.epmax)
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

    /// The timing attributes of a composite observation: the shortest of each period over `members`, so that no
    /// member is held back longer, or left unreported longer, than its own attributes allow.
    public static func combined(_ members: [LwM2MNotificationAttributes]) -> LwM2MNotificationAttributes {
        func smallest(_ key: KeyPath<LwM2MNotificationAttributes, UInt32?>) -> UInt32? {
            members.compactMap { $0[keyPath: key] }.min()
        }
        return LwM2MNotificationAttributes(
            pmin: smallest(\.pmin), pmax: members.compactMap { $0.pmax }.filter { $0 > 0 }.min(),
            epmin: smallest(\.epmin), epmax: members.compactMap { $0.epmax }.filter { $0 > 0 }.min())
    }
}

/// When observations notify, as a pure state machine (Core TS 6.4, RFC 7641): changes and time in,
/// observation IDs to notify out. A reportable change inside pmin is held back and sent (with the latest
/// value) when pmin expires, so no state change is lost; pmax forces a notification. epmin delays the
/// evaluation of a change until it ends; epmax samples the value (through `advance(to:value:)`) even when no
/// change is reported. A composite observation (Observe-Composite) has several member paths, each with its
/// own gt/lt/st, and the shortest timing attributes of its members.
public struct LwM2MNotificationStateMachine: Sendable {
    struct Member: Sendable {
        var path: LwM2MPath
        var attributes: LwM2MNotificationAttributes
        var lastSentValue: Double?
    }

    struct Observation: Sendable {
        var members: [Member]
        var timing: LwM2MNotificationAttributes
        var lastSentAt: NIODeadline
        /// Where the pmax period counts from: the last notification's scheduled pmax deadline when it went
        /// out because of pmax (a late timer does not push later periods back), else its actual time.
        var periodStart: NIODeadline
        var lastEvaluatedAt: NIODeadline
        var pending = false
        var evaluationHeld = false

        mutating func retime() {
            timing = members.count == 1 ? members[0].attributes : .combined(members.map(\.attributes))
        }
    }

    private var observations: [UInt64: Observation] = [:]

    /// Creates an empty state machine.
    public init() {}

    /// The observed path of each observation (the first member's for a composite one).
    public var paths: [UInt64: LwM2MPath] { observations.mapValues { $0.members[0].path } }

    /// Adds observation `id` of `path`; the response carrying `value` counts as its first notification.
    public mutating func add(_ id: UInt64, path: LwM2MPath, attributes: LwM2MNotificationAttributes, value: Double?, now: NIODeadline) {
        observations[id] = Observation(
            members: [Member(path: path, attributes: attributes, lastSentValue: value)], timing: attributes,
            lastSentAt: now, periodStart: now, lastEvaluatedAt: now)
    }

    /// Adds composite observation `id` of `members` (path and effective attributes each); `value` gives the
    /// numeric value of a resource path in the response, which counts as the first notification.
    public mutating func addComposite(
        _ id: UInt64, members: [(path: LwM2MPath, attributes: LwM2MNotificationAttributes)], now: NIODeadline,
        value: (LwM2MPath) -> Double?
    ) {
        guard !members.isEmpty else { return }
        var o = Observation(
            members: members.map {
                Member(path: $0.path, attributes: $0.attributes, lastSentValue: $0.path.level >= .resource ? value($0.path) : nil)
            },
            timing: LwM2MNotificationAttributes(), lastSentAt: now, periodStart: now, lastEvaluatedAt: now)
        o.retime()
        observations[id] = o
    }

    /// Changes the attributes of observation `id` (after Write-Attributes); `path` picks the member of a
    /// composite observation (every member when nil).
    public mutating func update(_ id: UInt64, attributes: LwM2MNotificationAttributes, for path: LwM2MPath? = nil) {
        guard var o = observations[id] else { return }
        for k in o.members.indices where path == nil || o.members[k].path == path { o.members[k].attributes = attributes }
        o.retime()
        observations[id] = o
    }

    /// Removes observation `id`.
    public mutating func remove(_ id: UInt64) {
        observations.removeValue(forKey: id)
    }

    /// Reports changed resource paths; `value` gives the current numeric value of a resource path (for
    /// gt/lt/st). Returns the observations to notify now; others may be held back until pmin (or epmin).
    public mutating func changed(
        _ changed: Set<LwM2MPath>, now: NIODeadline, value: (LwM2MPath) -> Double?
    ) -> [UInt64] {
        var due: [UInt64] = []
        for (id, var o) in observations {
            let touched = o.members.indices.filter { k in
                changed.contains { o.members[k].path.isPrefix(of: $0) || $0.isPrefix(of: o.members[k].path) }
            }
            guard !touched.isEmpty else { continue }
            if let epmin = o.timing.epmin, now < o.lastEvaluatedAt + .seconds(Int64(epmin)) {
                // Too soon to evaluate: look again when epmin ends.
                o.evaluationHeld = true
                observations[id] = o
                continue
            }
            if Self.evaluate(&o, members: touched, sampling: false, now: now, value: value) { due.append(id) }
            observations[id] = o
        }
        return due.sorted()
    }

    /// Evaluates observation `o` at `now` for `members`; with `sampling` (epmax), a member whose value did not
    /// move is not a change. Returns whether it notifies now.
    private static func evaluate(
        _ o: inout Observation, members: [Int], sampling: Bool, now: NIODeadline, value: (LwM2MPath) -> Double?
    ) -> Bool {
        o.lastEvaluatedAt = now
        o.evaluationHeld = false
        let reportable = members.contains { k in
            let m = o.members[k]
            let current = m.path.level >= .resource ? value(m.path) : nil
            if sampling && (current == nil || current == m.lastSentValue) { return false }
            return m.attributes.isReportable(from: m.lastSentValue, to: current)
        }
        guard reportable else { return false }
        o.pending = true
        return now >= o.lastSentAt + .seconds(Int64(o.timing.pmin ?? 0))
    }

    /// The observations whose pmin hold-back or pmax ran out at `now` (evaluation periods are left to
    /// `advance(to:value:)`).
    public func due(at now: NIODeadline) -> [UInt64] {
        observations.compactMap { id, o in deadline(of: o).map { $0 <= now ? id : nil } ?? nil }.sorted()
    }

    /// Runs the evaluations due at `now` (the end of epmin after a held change, epmax sampling) with the
    /// current values from `value`, then returns every observation to notify now (as `due(at:)`).
    public mutating func advance(to now: NIODeadline, value: (LwM2MPath) -> Double?) -> [UInt64] {
        for (id, var o) in observations {
            guard let at = evaluationDeadline(of: o), at <= now else { continue }
            let held = o.evaluationHeld
            // A held change counts whatever the value; an epmax sample only when the value moved.
            _ = Self.evaluate(&o, members: Array(o.members.indices), sampling: !held, now: now, value: value)
            observations[id] = o
        }
        return due(at: now)
    }

    /// Records that observation `id` notified `value` at `now` (a single-path observation).
    public mutating func sent(_ id: UInt64, value: Double?, now: NIODeadline) {
        sent(id, now: now) { _ in value }
    }

    /// Records that observation `id` notified at `now`, with the numeric values `value` gives per member path.
    /// When pmax forced it (its pmax deadline has passed), the next pmax period counts from that deadline, so
    /// pmax notifications keep their period under a late or coarse timer; after a stall longer than pmax the
    /// period restarts at `now` (one notification, no catch-up burst).
    public mutating func sent(_ id: UInt64, now: NIODeadline, value: (LwM2MPath) -> Double?) {
        guard var o = observations[id] else { return }
        var start = now
        if let pmax = o.timing.pmax, pmax > 0 {
            let period = TimeAmount.seconds(Int64(pmax))
            let forced = o.periodStart + period
            if forced <= now, now - forced < period { start = forced }
        }
        o.periodStart = start
        o.lastSentAt = now
        o.pending = false
        for k in o.members.indices {
            o.members[k].lastSentValue = value(o.members[k].path)
        }
        observations[id] = o
    }

    /// The earliest time an observation must notify or evaluate.
    public var nextDeadline: NIODeadline? {
        observations.values.compactMap { o in [deadline(of: o), evaluationDeadline(of: o)].compactMap { $0 }.min() }.min()
    }

    private func deadline(of o: Observation) -> NIODeadline? {
        let pmin = Int64(o.timing.pmin ?? 0)
        var result: NIODeadline?
        if o.pending { result = o.lastSentAt + .seconds(pmin) }
        if let pmax = o.timing.pmax, pmax > 0, Int64(pmax) >= pmin {
            let forced = o.periodStart + .seconds(Int64(pmax))
            result = result.map { min($0, forced) } ?? forced
        }
        return result
    }

    private func evaluationDeadline(of o: Observation) -> NIODeadline? {
        var result: NIODeadline?
        if o.evaluationHeld { result = o.lastEvaluatedAt + .seconds(Int64(o.timing.epmin ?? 0)) }
        if let epmax = o.timing.epmax, epmax > (o.timing.epmin ?? 0) {
            let sample = o.lastEvaluatedAt + .seconds(Int64(epmax))
            result = result.map { min($0, sample) } ?? sample
        }
        return result
    }
}
