import LwM2MModel

/// Parses the text form of an LwM2M path (`/3/0/9`) fed one byte at a time, so that a SenML base name and name
/// can be resolved without concatenating strings. Strict: a leading `/`, decimal identifiers 0...65534 without
/// leading zeros, at most four levels, no empty level and no trailing `/`.
struct LwM2MPathTextParser {
    private var ids: (UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0)
    private var count = 0
    private var current: UInt32 = 0
    private var digits = 0
    private var started = false
    private var failed = false

    /// Feeds one byte; returns `false` once the text cannot be a path.
    @inline(__always)
    mutating func feed(_ b: UInt8) -> Bool {
        if failed { return false }
        if !started {
            started = true
            if b != 0x2F { failed = true }
            return !failed
        }
        if b == 0x2F {
            if digits == 0 || !push() { failed = true }
        } else if b >= 0x30 && b <= 0x39 {
            if digits > 0 && current == 0 { failed = true }  // leading zero
            current = current * 10 + UInt32(b - 0x30)
            digits += 1
            if current > 65534 { failed = true }
        } else {
            failed = true
        }
        return !failed
    }

    /// Feeds `count` bytes from `bytes` (what `feed(_:)` does byte by byte, in one tight loop); returns `false` once
    /// the text cannot be a path.
    @inline(__always)
    mutating func feed(_ bytes: UnsafePointer<UInt8>, count: Int) -> Bool {
        if failed { return false }
        var k = 0
        if !started && count > 0 {
            started = true
            guard bytes[0] == 0x2F else {
                failed = true
                return false
            }
            k = 1
        }
        while k < count {
            let b = bytes[k]
            let d = b &- 0x30
            if d < 10 {
                if digits > 0 && current == 0 { break }  // leading zero
                current = current &* 10 &+ UInt32(d)
                digits += 1
                if current > 65534 { break }
            } else if b != 0x2F || digits == 0 || !push() {
                break
            }
            k += 1
        }
        if k < count { failed = true }
        return !failed
    }

    @inline(__always)
    private mutating func push() -> Bool {
        let id = UInt16(current)
        switch count {
        case 0: ids.0 = id
        case 1: ids.1 = id
        case 2: ids.2 = id
        case 3: ids.3 = id
        default: return false
        }
        count += 1
        current = 0
        digits = 0
        return true
    }

    /// The path, or `nil` when the text was not a path (the root `/` is not accepted as a record name).
    @inline(__always)
    mutating func finish() -> LwM2MPath? {
        guard !failed, started, digits > 0, push() else { return nil }
        switch count {
        case 1: return LwM2MPath(objectID: ids.0)
        case 2: return LwM2MPath(objectID: ids.0, instanceID: ids.1)
        case 3: return LwM2MPath(objectID: ids.0, instanceID: ids.1, resourceID: ids.2)
        default: return LwM2MPath(objectID: ids.0, instanceID: ids.1, resourceID: ids.2, resourceInstanceID: ids.3)
        }
    }
}

/// Writing paths as text without building a `String`.
enum LwM2MPathText {
    /// The number of decimal digits of `v`.
    @inline(__always)
    static func digitCount(_ v: UInt16) -> Int {
        v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5
    }

    /// The most bytes `append` writes: four levels of five digits, their slashes and a trailing one.
    static let maxLength = 25

    /// Appends the decimal digits of `v`.
    ///
    /// One or two digits (most IDs) take a byte or a pair from a table; longer ones the general loop. Each digit
    /// is worked out only on its branch: written as independent divisions, the optimizer computed all five digits
    /// of every loop-invariant ID up front (for `/3/0/6`, about 40 instructions per ID in place of 3).
    @inline(__always)
    static func appendDigits(_ v: UInt16, into out: inout ByteCursor) {
        if v < 10 {
            out.append(0x30 &+ UInt8(truncatingIfNeeded: v))
        } else if v < 100 {
            out.appendPair(LwM2MTextCodec.digitPair(Int(truncatingIfNeeded: v)))
        } else {
            out.appendDecimal(UInt64(v))
        }
    }

    /// The length of the text of levels `from..<to` of `path`, each preceded by `/` except the first when
    /// `leadingSlash` is false, plus a trailing `/` when asked.
    @inline(__always)
    static func length(_ path: LwM2MPath, from: Int, to: Int, leadingSlash: Bool, trailingSlash: Bool) -> Int {
        var n = 0
        for level in from..<to { n += 1 + digitCount(path[level]!) }
        if !leadingSlash && to > from { n -= 1 }
        if trailingSlash { n += 1 }
        return n
    }

    /// Appends the text of levels `from..<to` of `path` (see `length`).
    @inline(__always)
    static func append(
        _ path: LwM2MPath, from: Int, to: Int, leadingSlash: Bool, trailingSlash: Bool, into out: inout ByteCursor
    ) {
        for level in from..<to {
            if level > from || leadingSlash { out.append(0x2F) }
            appendDigits(path[level]!, into: &out)
        }
        if trailingSlash { out.append(0x2F) }
    }

    /// Appends an object link's text `o:i`.
    @inline(__always)
    static func append(_ link: LwM2MObjectLink, into out: inout ByteCursor) {
        appendDigits(link.objectID, into: &out)
        out.append(0x3A)
        appendDigits(link.instanceID, into: &out)
    }

    /// The length of an object link's text `o:i`.
    @inline(__always)
    static func length(_ link: LwM2MObjectLink) -> Int {
        digitCount(link.objectID) + 1 + digitCount(link.instanceID)
    }
}
