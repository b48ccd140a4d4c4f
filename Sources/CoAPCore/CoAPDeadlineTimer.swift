package import NIOCore

/// The one pending wake-up of an actor whose state machines name their next deadline (the endpoint's message
/// layer, a server's registrations, a client's registration engine): arming it for a new deadline cancels the
/// old wake-up, and a wake-up that fires after it was replaced is not claimed.
///
/// The owner keeps the timer in its isolated state; `fire` runs in a task of its own and should hop back onto the
/// owner (e.g. `{ [weak self] deadline in await self?.timerFired(deadline) }`), which calls ``claim(_:)`` first.
package struct CoAPDeadlineTimer {
    private var task: Task<Void, Never>?
    private var deadline: NIODeadline?

    /// A disarmed timer.
    package init() {}

    /// Arms the timer for `next` (nil disarms it); at `next`, `fire` runs with that deadline. The same deadline
    /// again keeps the pending wake-up.
    package mutating func schedule(
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

    /// Arms the timer for `next` unless a wake-up at or before `next` is already pending (the owner then picks
    /// its next deadline again when that one fires).
    package mutating func schedule(
        noLaterThan next: NIODeadline, on clock: any CoAPClock, fire: @escaping @Sendable (NIODeadline) async -> Void
    ) {
        if let deadline, deadline <= next { return }
        schedule(next, on: clock, fire: fire)
    }

    /// Whether a wake-up for `fired` is the current one; if it is, the timer is disarmed.
    package mutating func claim(_ fired: NIODeadline) -> Bool {
        guard fired == deadline else { return false }
        deadline = nil
        task = nil
        return true
    }

    /// Cancels the pending wake-up.
    package mutating func cancel() {
        task?.cancel()
        task = nil
        deadline = nil
    }
}
