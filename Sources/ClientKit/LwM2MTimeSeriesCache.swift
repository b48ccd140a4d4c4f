public import LwM2MModel
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-resource time series (Zephyr's `lwm2m_enable_cache`): for each enabled resource, a bounded ring buffer
/// of timestamped values. Every `LwM2MObjectTree.set` of an enabled resource adds an entry; a Read, a
/// notification or a Send in a format that carries time (SenML JSON/CBOR, OMA LwM2M JSON) drains the entries of
/// the resources it covers and reports them as timestamped records, oldest first (with no entries, the current
/// value goes out as usual). Other formats report the current value and leave the entries in place.
///
/// Only single resources of fixed-size types are cached (integer, unsigned integer, float, boolean, time),
/// as in Zephyr. Thread-safe.
///
/// ```swift
/// try tree.enableCache(.resource(3303, 0, 5700), capacity: 10)
/// try tree.set(.resource(3303, 0, 5700), .float(21.5))   // cached with the current time
/// ```
public final class LwM2MTimeSeriesCache: Sendable {
    /// What happens to a value recorded while the buffer of its resource is full.
    public enum OverflowPolicy: Sendable, Hashable {
        /// The new value is not cached (Zephyr's behaviour: "when cache is full, new values are dropped").
        case dropNewest
        /// The oldest entry makes room for the new one (a true ring buffer: the latest N values are kept).
        case dropOldest
    }

    /// One cached value.
    public struct Entry: Sendable, Hashable {
        /// Seconds since 1970-01-01T00:00:00Z.
        public var timestamp: Double
        /// The value.
        public var value: LwM2MValue

        /// Creates an entry.
        public init(timestamp: Double, value: LwM2MValue) {
            self.timestamp = timestamp
            self.value = value
        }
    }

    /// A fixed-capacity ring of entries.
    struct Ring: Sendable {
        var storage: [Entry?]
        var head = 0
        var count = 0
        var policy: OverflowPolicy
        var dropped = 0

        init(capacity: Int, policy: OverflowPolicy) {
            storage = Array(repeating: nil, count: capacity)
            self.policy = policy
        }

        mutating func append(_ entry: Entry) -> Bool {
            if count == storage.count {
                dropped += 1
                guard policy == .dropOldest else { return false }
                storage[head] = entry
                head = (head + 1) % storage.count
                return true
            }
            storage[(head + count) % storage.count] = entry
            count += 1
            return true
        }

        var entries: [Entry] { (0..<count).map { storage[(head + $0) % storage.count]! } }

        mutating func removeAll() -> [Entry] {
            let all = entries
            for k in storage.indices { storage[k] = nil }
            head = 0
            count = 0
            return all
        }
    }

    struct State: Sendable {
        var rings: [LwM2MPath: Ring] = [:]
        var clock: @Sendable () -> Double
    }

    private let state: Mutex<State>

    /// The largest capacity one resource may have.
    public static let maximumCapacity = 4096

    /// Creates an empty cache; `clock` gives the time of new entries (seconds since 1970, the system's real-time
    /// clock by default).
    public init(clock: @escaping @Sendable () -> Double = LwM2MTimeSeriesCache.systemTime) {
        state = Mutex(State(clock: clock))
    }

    /// The system's real-time clock in seconds since 1970.
    public static let systemTime: @Sendable () -> Double = {
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        #else
        return 0
        #endif
    }

    /// Replaces the clock new entries are stamped with (tests use a virtual one).
    public func setClock(_ clock: @escaping @Sendable () -> Double) {
        state.withLock { $0.clock = clock }
    }

    /// Starts caching up to `capacity` values of resource `path` (replacing its buffer and entries when it
    /// was cached already); a capacity of 0 stops caching it.
    public func enable(_ path: LwM2MPath, capacity: Int, policy: OverflowPolicy = .dropNewest) {
        let capacity = min(max(capacity, 0), Self.maximumCapacity)
        state.withLock { s in
            s.rings[path] = capacity == 0 ? nil : Ring(capacity: capacity, policy: policy)
        }
    }

    /// Stops caching `path` and forgets its entries.
    public func disable(_ path: LwM2MPath) {
        _ = state.withLock { $0.rings.removeValue(forKey: path) }
    }

    /// The cached resource paths, ascending.
    public var paths: [LwM2MPath] { state.withLock { $0.rings.keys.sorted() } }

    /// The capacity of `path`'s buffer (nil when it is not cached).
    public func capacity(of path: LwM2MPath) -> Int? { state.withLock { $0.rings[path]?.storage.count } }

    /// How many values of `path` were not cached, or overwritten, because its buffer was full.
    public func droppedCount(of path: LwM2MPath) -> Int { state.withLock { $0.rings[path]?.dropped ?? 0 } }

    /// Records `value` for `path` now; returns false when `path` is not cached or the value was dropped.
    @discardableResult
    public func record(_ path: LwM2MPath, _ value: LwM2MValue) -> Bool {
        state.withLock { s in
            guard s.rings[path] != nil else { return false }
            return s.rings[path]!.append(Entry(timestamp: s.clock(), value: value))
        }
    }

    /// The entries of `path`, oldest first, left in place.
    public func entries(of path: LwM2MPath) -> [Entry] { state.withLock { $0.rings[path]?.entries ?? [] } }

    /// Removes and returns the entries of `path`, oldest first.
    public func drain(_ path: LwM2MPath) -> [Entry] {
        state.withLock { s in s.rings[path] == nil ? [] : s.rings[path]!.removeAll() }
    }

    /// Whether any cached path at or under `path` holds entries (cheap when nothing is cached).
    public func hasEntries(under path: LwM2MPath) -> Bool {
        state.withLock { s in s.rings.contains { path.isPrefix(of: $0.key) && $0.value.count > 0 } }
    }

    /// `records` with the record of every cached resource that holds entries replaced by its entries as
    /// timestamped records (drained); other records are left as they are.
    public func drainingTimeSeries(_ records: [LwM2MRecord]) -> [LwM2MRecord] {
        var out: [LwM2MRecord] = []
        out.reserveCapacity(records.count)
        state.withLock { s in
            for record in records {
                guard record.path.level == .resource, s.rings[record.path]?.count ?? 0 > 0 else {
                    out.append(record)
                    continue
                }
                for e in s.rings[record.path]!.removeAll() {
                    out.append(LwM2MRecord(path: record.path, value: e.value, timestamp: e.timestamp))
                }
            }
        }
        return out
    }
}
