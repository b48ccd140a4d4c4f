import NIOCore

/// A min-heap of deadlines for block-wise transfer state: O(log n) to schedule and to expire, with one entry
/// per live transfer.
///
/// Owners keep the authoritative deadline (and a generation) next to their state in a dictionary; a transfer
/// that is touched only moves its own deadline forward. When the heap's entry comes due, `popDue` asks the
/// owner for the current deadline and re-queues the entry when it was extended, so the heap never holds more
/// than one live entry per transfer.
struct CoAPBlockExpiryQueue<Key: Hashable & Sendable>: Sendable {
    struct Entry: Sendable {
        var deadline: NIODeadline
        var key: Key
        var generation: UInt64
    }

    private var heap: [Entry] = []

    /// The number of queued entries (live or not yet discarded).
    var count: Int { heap.count }

    /// The earliest queued deadline.
    var earliest: NIODeadline? { heap.first?.deadline }

    /// Queues `key` (of `generation`) to come due at `deadline`.
    mutating func schedule(_ key: Key, generation: UInt64, at deadline: NIODeadline) {
        heap.append(Entry(deadline: deadline, key: key, generation: generation))
        siftUp(heap.count - 1)
    }

    /// Removes every entry due at `now` and returns the keys whose state is really expired.
    ///
    /// `current` returns the owner's deadline for a key of a generation, or `nil` when that state is gone.
    mutating func popDue(
        now: NIODeadline, current: (Key, UInt64) -> NIODeadline?
    ) -> [Key] {
        var expired: [Key] = []
        while let top = heap.first, top.deadline <= now {
            let entry = removeFirst()
            guard let deadline = current(entry.key, entry.generation) else { continue }
            if deadline <= now {
                expired.append(entry.key)
            } else {
                schedule(entry.key, generation: entry.generation, at: deadline)
            }
        }
        return expired
    }

    private mutating func removeFirst() -> Entry {
        let first = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return first
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        let n = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < n else { return }
            var smallest = left
            if left + 1 < n && heap[left + 1].deadline < heap[left].deadline { smallest = left + 1 }
            guard heap[smallest].deadline < heap[parent].deadline else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
