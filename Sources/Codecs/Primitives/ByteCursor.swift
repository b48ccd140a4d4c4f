/// A write position in bytes reserved at the end of an array by `[UInt8].appendBounded(_:_:)`.
///
/// The encoders' fast path: instead of growing the array one `append` at a time (a uniqueness and capacity check
/// per byte), an encoder computes an upper bound of its output, reserves that many bytes once and writes through
/// this cursor. Writers call `require(_:)` with the bound of each piece (a record, a value) before writing it, so a
/// bound that was computed too small traps instead of writing past the reservation.
struct ByteCursor {
    /// The first reserved byte.
    private let base: UnsafeMutablePointer<UInt8>
    /// The number of reserved bytes.
    private let limit: Int
    /// The number of bytes written so far.
    private(set) var count = 0

    /// A cursor over `limit` bytes at `base` that the caller owns (`[UInt8].appendBounded(_:_:)` makes the others).
    @inline(__always)
    init(base: UnsafeMutablePointer<UInt8>, limit: Int) {
        self.base = base
        self.limit = limit
    }

    /// The number of reserved bytes not written yet.
    @inline(__always)
    var remaining: Int { limit &- count }

    /// Traps unless `n` more bytes fit; call with the upper bound of what is about to be written.
    @inline(__always)
    func require(_ n: Int) {
        precondition(n >= 0 && n <= limit &- count, "encoder output bound too small")
    }

    /// Appends one byte.
    @inline(__always)
    mutating func append(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }

    /// Appends `bytes`.
    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let p = bytes.baseAddress, bytes.count > 0 else { return }
        (base + count).update(from: p.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count &+= bytes.count
    }

    /// Appends `bytes`.
    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        append(UnsafeRawBufferPointer(bytes))
    }

    /// Appends `bytes`.
    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends the UTF-8 of `text`. (Not an `append` overload: a string literal would pick it over the literal one.)
    @inline(__always)
    mutating func appendText(_ text: String) {
        var s = text
        s.withUTF8 { append($0) }
    }

    /// Appends two bytes in their memory order (a pair of digits from `LwM2MTextCodec.digitPair`).
    @inline(__always)
    mutating func appendPair(_ pair: UInt16) {
        UnsafeMutableRawPointer(base + count).storeBytes(of: pair, as: UInt16.self)
        count &+= 2
    }

    /// Appends ASCII literal bytes.
    ///
    /// A byte loop rather than `append(_:)` of a buffer: its length is a constant once inlined, so it compiles to a
    /// few immediate stores, and it keeps the optimizer's view free of a memory-copy call, which (unlike stores)
    /// makes it keep copies, with retains, of the values an encoder is reading around it.
    @inline(__always)
    mutating func append(_ literal: StaticString) {
        let p = literal.utf8Start
        let n = literal.utf8CodeUnitCount
        var k = 0
        while k < n {
            base[count &+ k] = p[k]
            k &+= 1
        }
        count &+= n
    }

    /// Appends the eight bytes of `word` in memory order (an unaligned store).
    @inline(__always)
    mutating func appendWord(_ word: UInt64) {
        UnsafeMutableRawPointer(base + count).storeBytes(of: word, as: UInt64.self)
        count &+= 8
    }

    /// Appends the low `size` bytes of `value`, most significant first (`size` is 1, 2, 4 or 8).
    @inline(__always)
    mutating func appendBigEndian(_ value: UInt64, size: Int) {
        switch size {
        case 1: base[count] = UInt8(truncatingIfNeeded: value)
        case 2: UnsafeMutableRawPointer(base + count).storeBytes(of: UInt16(truncatingIfNeeded: value).bigEndian, as: UInt16.self)
        case 4: UnsafeMutableRawPointer(base + count).storeBytes(of: UInt32(truncatingIfNeeded: value).bigEndian, as: UInt32.self)
        default: UnsafeMutableRawPointer(base + count).storeBytes(of: value.bigEndian, as: UInt64.self)
        }
        count &+= size
    }

    /// Appends `-` (when `negative`) and the decimal digits of `value` (at most 21 bytes), written in place from the
    /// last digit back, without an intermediate buffer.
    @inline(__always)
    mutating func appendDecimal(_ value: UInt64, negative: Bool = false) {
        let digits = LwM2MTextCodec.decimalDigitCount(value)
        let total = negative ? digits &+ 1 : digits
        LwM2MTextCodec.writeDecimal(value, negative: negative, total: total, to: base + count)
        count &+= total
    }

    /// Writes `byte` at `offset` (already written) again: for a byte whose value is known only later.
    @inline(__always)
    mutating func overwrite(at offset: Int, _ byte: UInt8) {
        precondition(offset >= 0 && offset < count)
        base[offset] = byte
    }
}

extension Array where Element == UInt8 {
    /// Appends at most `bound` bytes written by `body` through a cursor (see `ByteCursor`). When `body` throws,
    /// the array is left as it was.
    @inline(__always)
    mutating func appendBounded<E: Error>(_ bound: Int, _ body: (inout ByteCursor) throws(E) -> Void) throws(E) {
        #if canImport(Darwin)
        // (Elsewhere every item goes to the spare capacity below, which neither zero-fills nor resizes twice.)
        if bound <= 32 {
            // A short item (a single value): write on the stack and append once, without resizing twice.
            var stack: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            var failure: E? = nil
            Swift.withUnsafeMutableBytes(of: &stack) { raw in
                var cursor = ByteCursor(base: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), limit: bound)
                do throws(E) {
                    try body(&cursor)
                    append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[..<cursor.count]))
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            return
        }
        #endif
        let bound = Swift.max(bound, 1)
        var failure: E? = nil
        #if canImport(Darwin)
        // `Array.append(addingCapacity:)` needs a recent OS on Apple platforms: reserve by zero-filling the bound,
        // write over it, then drop what was not written.
        let start = count
        append(contentsOf: repeatElement(0, count: bound))
        var written = 0
        withUnsafeMutableBufferPointer { buffer in
            var cursor = ByteCursor(base: buffer.baseAddress! + start, limit: bound)
            do throws(E) {
                try body(&cursor)
            } catch {
                failure = error
            }
            written = cursor.count
        }
        if let failure {
            removeLast(bound)
            throw failure
        }
        removeLast(bound - written)
        #else
        // Write straight into the spare capacity (no zero fill of the bound); only the written bytes become
        // elements, none when `body` throws.
        append(addingCapacity: bound) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                // The span starts empty with at least `bound` free elements.
                var cursor = ByteCursor(base: buffer.baseAddress.unsafelyUnwrapped, limit: bound)
                do throws(E) {
                    try body(&cursor)
                    initialized = cursor.count
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
        #endif
    }
}
