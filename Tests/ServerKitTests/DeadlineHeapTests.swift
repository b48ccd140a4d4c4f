import NIOCore
import Testing

@testable import ServerKit

@Suite("Deadline heap")
struct DeadlineHeapTests {
    @Test("Schedule, reschedule and cancel agree with a sorted reference under random operations")
    func randomized() {
        var heap = DeadlineHeap<Int>()
        var reference: [Int: Int64] = [:]
        var rng = Xorshift(seed: 42)
        for step in 0..<5000 {
            let key = Int(rng.next() % 200)
            switch rng.next() % 4 {
            case 0, 1:
                let at = Int64(rng.next() % 10_000)
                heap.schedule(key, at: .uptimeNanoseconds(UInt64(at)))
                reference[key] = at
            case 2:
                #expect(heap.cancel(key) == (reference.removeValue(forKey: key) != nil))
            default:
                let now = Int64(step * 2)
                let popped = heap.popExpired(now: .uptimeNanoseconds(UInt64(now)))
                let due = reference.filter { $0.value <= now }
                #expect(Set(popped) == Set(due.keys))
                let times = popped.map { due[$0]! }
                #expect(times == times.sorted())
                for k in due.keys { reference[k] = nil }
            }
            #expect(heap.count == reference.count)
            #expect(heap.first.map { Int64($0.deadline.uptimeNanoseconds) } == reference.values.min())
        }
    }
}

struct Xorshift {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
