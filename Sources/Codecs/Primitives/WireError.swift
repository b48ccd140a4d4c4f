/// Factories for the decoding errors the CBOR and JSON primitives (and the formats built on them) raise.
enum WireError {
    @inline(never)
    static func truncated(_ offset: Int, _ what: String = "payload") -> LwM2MCodecError {
        LwM2MCodecError(code: .truncated, reason: "\(what) ends early", offset: offset)
    }

    @inline(never)
    static func malformed(_ offset: Int, _ reason: String) -> LwM2MCodecError {
        LwM2MCodecError(code: .malformed, reason: reason, offset: offset)
    }

    @inline(never)
    static func trailing(_ offset: Int) -> LwM2MCodecError {
        LwM2MCodecError(code: .trailingBytes, reason: "bytes left after the payload", offset: offset)
    }

    @inline(never)
    static func tooDeep(_ offset: Int) -> LwM2MCodecError {
        LwM2MCodecError(code: .limitExceeded, reason: "nesting is too deep", offset: offset)
    }

    @inline(never)
    static func typeMismatch(_ offset: Int, _ reason: String) -> LwM2MCodecError {
        LwM2MCodecError(code: .typeMismatch, reason: reason, offset: offset)
    }
}

/// A string read from a payload: a range of the input when it was written in one piece, or assembled bytes
/// (CBOR indefinite-length chunks, JSON escapes). Avoids a copy in the common case.
enum WireString {
    /// `start..<end` of the input buffer.
    case span(Int, Int)
    /// Bytes that had to be assembled.
    case owned([UInt8])

    /// The number of bytes.
    var count: Int {
        switch self {
        case .span(let s, let e): return e - s
        case .owned(let a): return a.count
        }
    }

    /// Whether the bytes equal the ASCII `literal`.
    @inline(__always)
    func equals(_ literal: StaticString, in input: UnsafeRawBufferPointer) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard count == n else { return false }
        let p = literal.utf8Start
        switch self {
        case .span(let s, _):
            for k in 0..<n where input[s + k] != p[k] { return false }
        case .owned(let a):
            for k in 0..<n where a[k] != p[k] { return false }
        }
        return true
    }

    /// The bytes as a validated UTF-8 `String`, or `nil` when they are not valid UTF-8.
    func string(in input: UnsafeRawBufferPointer) -> String? {
        switch self {
        case .span(let s, let e):
            let raw = UnsafeRawBufferPointer(rebasing: input[s..<e])
            let bytes = raw.assumingMemoryBound(to: UInt8.self)
            // Validate first (strict), then take the stdlib's specialized contiguous fast path.
            guard JSONReader.isValidUTF8(bytes) else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        case .owned(let a):
            guard JSONReader.isValidUTF8(a) else { return nil }
            return String(decoding: a, as: UTF8.self)
        }
    }

    /// The bytes as an array.
    func bytes(in input: UnsafeRawBufferPointer) -> [UInt8] {
        switch self {
        case .span(let s, let e): return [UInt8](UnsafeRawBufferPointer(rebasing: input[s..<e]))
        case .owned(let a): return a
        }
    }

    /// Calls `body` with each byte in order; stops and returns `false` as soon as `body` does.
    @inline(__always)
    func forEachByte(in input: UnsafeRawBufferPointer, _ body: (UInt8) -> Bool) -> Bool {
        switch self {
        case .span(let s, let e):
            var k = s
            while k < e {
                if !body(input[k]) { return false }
                k += 1
            }
        case .owned(let a):
            for b in a where !body(b) { return false }
        }
        return true
    }
}
