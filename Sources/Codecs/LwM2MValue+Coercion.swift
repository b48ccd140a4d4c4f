public import LwM2MModel

extension LwM2MValue {
    /// This value as `type`, when the conversion is exact: formats that carry no or coarse types (SenML's
    /// numeric `v`, CBOR integers, LwM2M JSON) are typed afterwards by the resource definition.
    ///
    /// Integral floats become integers, non-negative integers become unsigned, numbers become times,
    /// `"3:0"` strings become object links, strings become CoRE links. Returns `nil` when the value does not
    /// fit (a fractional float for an integer, a negative for an unsigned, text for a boolean ...).
    public func coerced(to type: LwM2MResourceType) -> LwM2MValue? {
        if self.type == type { return self }
        switch (type, self) {
        case (.integer, .unsignedInteger(let u)):
            return u <= UInt64(Int64.max) ? .integer(Int64(u)) : nil
        case (.integer, .float(let d)):
            return Int64(exactly: d).map(LwM2MValue.integer)
        case (.integer, .time(let t)):
            return .integer(t)
        case (.unsignedInteger, .integer(let i)):
            return i >= 0 ? .unsignedInteger(UInt64(i)) : nil
        case (.unsignedInteger, .float(let d)):
            return UInt64(exactly: d).map(LwM2MValue.unsignedInteger)
        case (.float, .integer(let i)):
            return .float(Double(i))
        case (.float, .unsignedInteger(let u)):
            return .float(Double(u))
        case (.time, .integer(let i)):
            return .time(i)
        case (.time, .unsignedInteger(let u)):
            return u <= UInt64(Int64.max) ? .time(Int64(u)) : nil
        case (.time, .float(let d)):
            return Int64(exactly: d).map(LwM2MValue.time)
        case (.objectLink, .string(let s)):
            return LwM2MObjectLink(parsing: s).map(LwM2MValue.objectLink)
        case (.coreLink, .string(let s)):
            return .coreLink(s)
        case (.string, .coreLink(let s)):
            return .string(s)
        default:
            return nil
        }
    }
}

extension LwM2MObjectLink {
    /// Parses the text form `objectID:instanceID` (each 0...65535); `nil` for anything else.
    public init?(parsing text: some StringProtocol) {
        guard let colon = text.firstIndex(of: ":"),
            let o = UInt16(text[text.startIndex..<colon]),
            let i = UInt16(text[text.index(after: colon)...])
        else { return nil }
        self.init(objectID: o, instanceID: i)
    }
}
