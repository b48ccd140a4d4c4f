/// An await that did not finish within its (real or virtual) time limit.
public struct TimeoutError: Error {
    /// Creates the error.
    public init() {}
}

/// Awaits `body` but gives up after `seconds` of real time with `TimeoutError` (a guard against hangs, not a
/// sleep to wait for events).
public func withTimeout<T: Sendable>(
    seconds: Double = 20, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw TimeoutError()
        }
        group.cancelAll()
        return value
    }
}
