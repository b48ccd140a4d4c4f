import Synchronization

/// Lines of a child process (or any line stream) turned into values and consumed in order: a reader waits for the
/// next value that matches and skips the ones it is not waiting for; waiting needs no polling and ends when the
/// waiting task is cancelled (so `withTimeout` can end a wait for a line that never comes).
public final class LineQueue<Value: Sendable>: Sendable {
    private struct State {
        var values: [Value] = []
        var consumed = 0
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?

        mutating func takeWaiter() -> CheckedContinuation<Void, Never>? {
            defer { waiter = nil }
            return waiter
        }
    }
    private let state = Mutex(State())

    /// Starts consuming `lines`; `transform` turns a line into a value (nil: the line is dropped).
    public init(_ lines: AsyncStream<String>, transform: @escaping @Sendable (String) -> Value?) {
        Task { [self] in
            for await line in lines {
                guard let value = transform(line) else { continue }
                state.withLock { s in
                    s.values.append(value)
                    return s.takeWaiter()
                }?.resume()
            }
            state.withLock { s in
                s.finished = true
                return s.takeWaiter()
            }?.resume()
        }
    }

    /// The next value (after the ones already consumed) that matches `predicate`; nil when the lines end first or
    /// the waiting task is cancelled.
    public func next(where predicate: @Sendable (Value) -> Bool) async -> Value? {
        while true {
            let (found, finished): (Value?, Bool) = state.withLock { s in
                while s.consumed < s.values.count {
                    let value = s.values[s.consumed]
                    s.consumed += 1
                    if predicate(value) { return (value, false) }
                }
                return (nil, s.finished)
            }
            if let found { return found }
            if finished || Task.isCancelled { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { s -> Bool in
                        if s.consumed < s.values.count || s.finished || Task.isCancelled { return true }
                        s.waiter = c
                        return false
                    }
                    if ready { c.resume() }
                }
            } onCancel: {
                state.withLock { $0.takeWaiter() }?.resume()
            }
        }
    }
}
