public import NIOCore
import Synchronization

/// The time source of an endpoint: "now" and a cancellable wait for a deadline.
///
/// `CoAPSystemClock` follows the monotonic clock; `CoAPVirtualClock` only moves when a test advances it.
public protocol CoAPClock: Sendable {
    /// The current time.
    var now: NIODeadline { get }
    /// Returns when `deadline` has passed; throws `CancellationError` when the task is cancelled first.
    func sleep(until deadline: NIODeadline) async throws
}

/// The monotonic system clock (`NIODeadline.now()`).
public struct CoAPSystemClock: CoAPClock {
    /// Creates the clock.
    public init() {}

    /// The current monotonic time.
    public var now: NIODeadline { .now() }

    /// Sleeps until `deadline` with `Task.sleep`.
    public func sleep(until deadline: NIODeadline) async throws {
        let remaining = deadline - .now()
        if remaining.nanoseconds > 0 {
            try await Task.sleep(nanoseconds: UInt64(remaining.nanoseconds))
        } else {
            try Task.checkCancellation()
        }
    }
}

/// A clock that stands still until `advance(by:)` or `advance(to:)` moves it; for tests and simulations.
///
/// Advancing resumes sleepers and runs scheduled callbacks whose deadline has passed, in deadline order.
public final class CoAPVirtualClock: CoAPClock {
    private struct Sleeper {
        var deadline: NIODeadline
        var continuation: CheckedContinuation<Void, any Error>?
        var callback: (@Sendable () -> Void)?
    }

    private struct State {
        var now: NIODeadline
        var nextID: UInt64 = 0
        var sleepers: [UInt64: Sleeper] = [:]
    }

    private let state: Mutex<State>

    /// Creates a clock reading `start` (by default 1000 s of uptime, so `now - x` never goes below zero).
    public init(start: NIODeadline = .uptimeNanoseconds(1_000_000_000_000)) {
        self.state = Mutex(State(now: start))
    }

    /// The current virtual time.
    public var now: NIODeadline { state.withLock { $0.now } }

    /// The number of tasks and callbacks waiting for a future time.
    public var pendingCount: Int { state.withLock { $0.sleepers.count } }

    /// Every deadline a task or callback waits for, earliest first (tests use it to see that the code under test
    /// armed its timer before they move the clock).
    public var pendingDeadlines: [NIODeadline] { state.withLock { $0.sleepers.values.map(\.deadline).sorted() } }

    /// The earliest deadline anyone waits for, if any.
    public var nextDeadline: NIODeadline? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    /// Suspends until the clock is advanced past `deadline`.
    public func sleep(until deadline: NIODeadline) async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = state.withLock { s in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= s.now { return .success(()) }
                    s.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation, callback: nil)
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            let continuation = state.withLock { $0.sleepers.removeValue(forKey: id)?.continuation }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Runs `callback` synchronously inside the `advance` call that passes `deadline` (immediately if it has).
    public func schedule(at deadline: NIODeadline, _ callback: @escaping @Sendable () -> Void) {
        let due = state.withLock { s -> Bool in
            if deadline <= s.now { return true }
            s.nextID += 1
            s.sleepers[s.nextID] = Sleeper(deadline: deadline, continuation: nil, callback: callback)
            return false
        }
        if due { callback() }
    }

    /// Moves the clock forward by `amount`, waking everything due on the way in deadline order.
    public func advance(by amount: TimeAmount) {
        advance(to: now + amount)
    }

    /// Moves the clock to `deadline` (never backwards), waking everything due on the way in deadline order.
    public func advance(to deadline: NIODeadline) {
        while true {
            // Step to the earliest due sleeper so callbacks that schedule more work see the right time.
            let due: Sleeper? = state.withLock { s in
                guard let (id, sleeper) = s.sleepers.min(by: { a, b in
                    a.value.deadline != b.value.deadline ? a.value.deadline < b.value.deadline : a.key < b.key
                }), sleeper.deadline <= deadline else {
                    if deadline > s.now { s.now = deadline }
                    return nil
                }
                s.sleepers.removeValue(forKey: id)
                if sleeper.deadline > s.now { s.now = sleeper.deadline }
                return sleeper
            }
            guard let due else { return }
            due.continuation?.resume()
            due.callback?()
        }
    }
}
