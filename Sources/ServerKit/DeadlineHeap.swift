public import NIOCore

/// An indexed binary min-heap of deadlines keyed by `Key`: schedule, reschedule and cancel in O(log n), peek the
/// earliest in O(1). Used for registration lifetimes and queued-request time-to-live, so timer cost does not
/// grow linearly with the number of clients.
public struct DeadlineHeap<Key: Hashable & Sendable>: Sendable {
    @usableFromInline var entries: [(deadline: NIODeadline, key: Key)] = []
    @usableFromInline var positions: [Key: Int] = [:]

    /// Creates an empty heap.
    public init() {}

    /// The number of scheduled keys.
    public var count: Int { entries.count }
    /// Whether nothing is scheduled.
    public var isEmpty: Bool { entries.isEmpty }

    /// The earliest deadline and its key.
    public var first: (deadline: NIODeadline, key: Key)? { entries.first }

    /// The deadline scheduled for `key`.
    public func deadline(for key: Key) -> NIODeadline? {
        positions[key].map { entries[$0].deadline }
    }

    /// Schedules `key` at `deadline`, replacing an earlier schedule of the same key.
    public mutating func schedule(_ key: Key, at deadline: NIODeadline) {
        if let index = positions[key] {
            let old = entries[index].deadline
            entries[index].deadline = deadline
            if deadline < old { siftUp(index) } else { siftDown(index) }
        } else {
            entries.append((deadline, key))
            positions[key] = entries.count - 1
            siftUp(entries.count - 1)
        }
    }

    /// Cancels `key`; returns whether it was scheduled.
    @discardableResult
    public mutating func cancel(_ key: Key) -> Bool {
        guard let index = positions.removeValue(forKey: key) else { return false }
        let last = entries.count - 1
        if index != last {
            entries.swapAt(index, last)
            positions[entries[index].key] = index
            entries.removeLast()
            siftDown(index)
            siftUp(index)
        } else {
            entries.removeLast()
        }
        return true
    }

    /// Removes and returns every key whose deadline is at or before `now`, earliest first.
    public mutating func popExpired(now: NIODeadline) -> [Key] {
        var out: [Key] = []
        while let top = entries.first, top.deadline <= now {
            out.append(top.key)
            cancel(top.key)
        }
        return out
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            swapEntries(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let n = entries.count
        while true {
            let left = 2 * parent + 1
            guard left < n else { break }
            var smallest = left
            let right = left + 1
            if right < n && entries[right].deadline < entries[left].deadline { smallest = right }
            guard entries[smallest].deadline < entries[parent].deadline else { break }
            swapEntries(smallest, parent)
            parent = smallest
        }
    }

    private mutating func swapEntries(_ a: Int, _ b: Int) {
        entries.swapAt(a, b)
        positions[entries[a].key] = a
        positions[entries[b].key] = b
    }
}
