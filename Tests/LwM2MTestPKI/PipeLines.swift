public import Foundation

/// The lines a child process writes to a pipe, as they arrive (read on a thread of their own, so a blocking read
/// never holds a task executor thread).
public final class PipeLines: Sendable {
    /// The lines, without their newline; finishes at end of file.
    public let lines: AsyncStream<String>

    /// Starts reading `handle`.
    public init(_ handle: FileHandle) {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        lines = stream
        Thread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    continuation.yield(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
            }
            continuation.finish()
        }.start()
    }
}
