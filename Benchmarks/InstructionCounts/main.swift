#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// A valgrind driver for the codec benchmark rows: `InstructionCounts <benchmark name> <iterations>` runs one
// operation of `CodecOperations.swift` that many times and exits. Built and run by `scripts/instruction-counts.sh`
// (valgrind cannot run the benchmark harness itself).

/// Prints `message` on standard error and exits with `status`.
func fail(_ message: String, status: Int32) -> Never {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let iterations = Int(arguments[2]) else {
    fail("usage: InstructionCounts <benchmark name> <iterations>", status: 2)
}
guard let operation = codecOperations().first(where: { $0.name == arguments[1] })?.operation else {
    fail("no operation named \(arguments[1])", status: 2)
}
do {
    try operation.run(iterations)
} catch {
    fail("\(arguments[1]) failed: \(error)", status: 1)
}
// Reads the results the value rows stored, so the optimizer must have computed them (never true in practice).
if resultSink == Int.min { fail("", status: 3) }
