import CoAPCore
import NIOCore

/// The one pending wake-up of an actor whose state machines name their next deadline: arming it for a new
/// deadline cancels the old wake-up, and a wake-up that fires after it was replaced is not claimed.
struct LwM2MDeadlineTimer {
    private var task: Task<Void, Never>?
    private var deadline: NIODeadline?

    /// Arms the timer for `next` (nil disarms it); at `next`, `fire` runs with that deadline. The same deadline
    /// again keeps the pending wake-up.
    mutating func schedule(
        _ next: NIODeadline?, on clock: any CoAPClock, fire: @escaping @Sendable (NIODeadline) async -> Void
    ) {
        guard next != deadline else { return }
        task?.cancel()
        deadline = next
        guard let next else {
            task = nil
            return
        }
        task = Task {
            do { try await clock.sleep(until: next) } catch { return }
            await fire(next)
        }
    }

    /// Whether a wake-up for `fired` is the current one; if it is, the timer is disarmed.
    mutating func claim(_ fired: NIODeadline) -> Bool {
        guard fired == deadline else { return false }
        deadline = nil
        task = nil
        return true
    }

    /// Cancels the pending wake-up.
    mutating func cancel() {
        task?.cancel()
        task = nil
        deadline = nil
    }
}
