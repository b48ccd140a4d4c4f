public import CoAPCore
public import NIOCore
import Synchronization

/// Runs `body` in a task while advancing `clock` in `step`s (yielding between steps, so that the tasks the clock
/// wakes run) until `body` finishes, or until `maxVirtual` of virtual time has passed (then `body` is cancelled);
/// returns its result or rethrows its error.
public func driving<T: Sendable>(
    _ clock: CoAPVirtualClock, step: TimeAmount = .milliseconds(100), maxVirtual: TimeAmount = .seconds(3600),
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let task = Task { try await body() }
    let finished = Mutex(false)
    let watcher = Task {
        _ = try? await task.value
        finished.withLock { $0 = true }
    }
    let limit = clock.now + maxVirtual
    while !finished.withLock({ $0 }) && clock.now < limit {
        for _ in 0..<20 { await Task.yield() }
        if finished.withLock({ $0 }) { break }
        clock.advance(by: step)
    }
    if !finished.withLock({ $0 }) { task.cancel() }
    _ = await watcher.value
    return try await task.value
}
