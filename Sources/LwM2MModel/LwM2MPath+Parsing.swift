extension LwM2MPath {
    /// Parses the text form of a path: `/`, `/3`, `/3/0`, `/3/0/9` or `/3/0/11/0`.
    ///
    /// Identifiers are plain decimal numbers without sign or leading zeros, 0...65534. A trailing slash is
    /// not accepted (`/3/` has an empty segment). Version hints (`/3_1.1`) are rejected here; use
    /// ``LwM2MVersionedPath`` for them. Parsing a native `String` does not allocate.
    ///
    /// - Throws: ``LwM2MPathError`` saying why the text is not a path.
    public init(parsing text: some StringProtocol) throws(LwM2MPathError) {
        self = try Self.parse(String(text), allowVersion: false).path
    }

    /// Builds a path from already split segments, e.g. the Uri-Path options of a CoAP request
    /// (`["3", "0", "9"]`; an empty list is the root).
    ///
    /// - Throws: ``LwM2MPathError`` saying why the segments are not a path (offsets count in the joined
    ///   text `/3/0/9`).
    public init(segments: some Collection<some StringProtocol>) throws(LwM2MPathError) {
        var text = ""
        for segment in segments {
            text += "/"
            text += segment
        }
        try self.init(parsing: text.isEmpty ? "/" : text)
    }

    /// The shared scanner for plain and versioned paths.
    static func parse(_ input: String, allowVersion: Bool) throws(LwM2MPathError) -> (path: LwM2MPath, version: LwM2MVersion?) {
        var copy = input
        let result = copy.withUTF8 { scan($0, input: input, allowVersion: allowVersion) }
        return try result.get()
    }

    private static func scan(
        _ bytes: UnsafeBufferPointer<UInt8>, input: String, allowVersion: Bool
    ) -> Result<(path: LwM2MPath, version: LwM2MVersion?), LwM2MPathError> {
        guard !bytes.isEmpty else { return .failure(.empty(input)) }
        guard bytes[0] == UInt8(ascii: "/") else { return .failure(.missingLeadingSlash(input)) }
        if bytes.count == 1 { return .success((.root, nil)) }

        var ids: (UInt16, UInt16, UInt16, UInt16) = (absent, absent, absent, absent)
        var level = 0
        var version: LwM2MVersion?
        var index = 1
        while true {
            // One segment starts at `index`.
            let start = index
            var value: UInt32 = 0
            while index < bytes.count, bytes[index] != UInt8(ascii: "/"), bytes[index] != UInt8(ascii: "_") {
                let b = bytes[index]
                guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return .failure(.nonNumeric(input, at: index)) }
                if index > start && bytes[start] == UInt8(ascii: "0") { return .failure(.leadingZero(input, at: start)) }
                value = value * 10 + UInt32(b - UInt8(ascii: "0"))
                if value > 65535 { return .failure(.outOfRange(input, at: start)) }
                index += 1
            }
            if index == start {
                if index < bytes.count, bytes[index] == UInt8(ascii: "_") {
                    return .failure(.nonNumeric(input, at: index))
                }
                return .failure(.emptySegment(input, at: start))
            }
            if value == 65535 { return .failure(.reserved(input, at: start)) }
            switch level {
            case 0: ids.0 = UInt16(value)
            case 1: ids.1 = UInt16(value)
            case 2: ids.2 = UInt16(value)
            default: ids.3 = UInt16(value)
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "_") {
                guard allowVersion else {
                    return .failure(.versionHint(input, at: index, "a version hint (\"_1.1\") is not part of a plain path"))
                }
                guard level == 0 else {
                    return .failure(.versionHint(input, at: index, "only the object level may carry a version hint"))
                }
                let vStart = index + 1
                var vEnd = vStart
                var dots = 0
                while vEnd < bytes.count, bytes[vEnd] != UInt8(ascii: "/") {
                    if bytes[vEnd] == UInt8(ascii: ".") { dots += 1 }
                    vEnd += 1
                }
                guard dots == 1, let v = LwM2MVersion.parse(utf8: UnsafeBufferPointer(rebasing: bytes[vStart..<vEnd])) else {
                    return .failure(.versionHint(input, at: vStart, "the version hint must be \"major.minor\", e.g. \"_1.1\""))
                }
                version = v
                index = vEnd
            }
            level += 1
            if index == bytes.count { break }
            if level == 4 { return .failure(.tooDeep(input, at: index)) }
            // bytes[index] is "/": skip it; a trailing slash leaves an empty segment.
            index += 1
            if index == bytes.count { return .failure(.emptySegment(input, at: index)) }
        }
        return .success((LwM2MPath(uncheckedObject: ids.0, instance: ids.1, resource: ids.2, resourceInstance: ids.3), version))
    }
}

/// A path with the object-version hint ThingsBoard uses: `/3_1.1/0/9` is `/3/0/9` on object 3 version 1.1.
///
/// Kept apart from ``LwM2MPath`` so that a plain path never silently carries (or loses) a version.
public struct LwM2MVersionedPath: Hashable, Sendable, CustomStringConvertible {
    /// The numeric path.
    public var path: LwM2MPath
    /// The object version named by the hint, or `nil` when the text had none (`/3/0/9`).
    public var objectVersion: LwM2MVersion?

    /// Creates a versioned path; a version on the root path is dropped (the root has no object).
    @inlinable public init(path: LwM2MPath, objectVersion: LwM2MVersion?) {
        self.path = path
        self.objectVersion = path.objectID == nil ? nil : objectVersion
    }

    /// Parses `/3_1.1/0/9`, and also plain paths (`/3/0/9`, `objectVersion` `nil`).
    ///
    /// - Throws: ``LwM2MPathError``; `.invalidVersionHint` when the hint is malformed or not on the object level.
    public init(parsing text: some StringProtocol) throws(LwM2MPathError) {
        let (path, version) = try LwM2MPath.parse(String(text), allowVersion: true)
        self.init(path: path, objectVersion: version)
    }

    /// `/3_1.1/0/9`, or the plain path when there is no version.
    public var description: String {
        guard let objectVersion, let o = path.objectID else { return path.description }
        var s = "/\(o)_\(objectVersion)"
        for level in 1..<path.depth { s += "/\(path[level]!)" }
        return s
    }
}
