import NIOCore

/// A binary min-heap of deadlines with payloads: O(log n) insert and pop. Stale entries are skipped by the
/// owner (lazy cancellation), so cancelling is O(1).
struct CoAPTimerQueue<Payload> {
    private var heap: [(deadline: NIODeadline, sequence: UInt64, payload: Payload)] = []
    private var sequence: UInt64 = 0

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }
    var nextDeadline: NIODeadline? { heap.first?.deadline }

    mutating func insert(_ payload: Payload, at deadline: NIODeadline) {
        sequence &+= 1
        heap.append((deadline, sequence, payload))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if its deadline is at or before `now`.
    mutating func popDue(now: NIODeadline) -> (deadline: NIODeadline, payload: Payload)? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count && less(left, smallest) { smallest = left }
                if right < heap.count && less(right, smallest) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (first.deadline, first.payload)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].deadline != heap[b].deadline ? heap[a].deadline < heap[b].deadline : heap[a].sequence < heap[b].sequence
    }
}
