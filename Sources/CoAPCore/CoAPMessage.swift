public import NIOCore

/// A CoAP message (RFC 7252 section 3): header, token, options (kept sorted by number; repeated options in
/// their original order) and payload.
public struct CoAPMessage: Hashable, Sendable {
    /// CON, NON, ACK or RST.
    public var type: CoAPMessageType
    /// Method, response code or empty.
    public var code: CoAPCode
    /// The message ID used for deduplication and matching ACK/RST.
    public var messageID: UInt16
    /// The token matching responses to requests.
    public var token: CoAPToken
    /// The options, sorted by number (stable for repeated options).
    public internal(set) var options: [CoAPOption]
    /// The payload (empty when there is none).
    public var payload: ByteBuffer

    /// Creates a message; `options` are sorted by number, keeping the order of repeated options.
    public init(
        type: CoAPMessageType,
        code: CoAPCode,
        messageID: UInt16,
        token: CoAPToken = .empty,
        options: [CoAPOption] = [],
        payload: ByteBuffer = ByteBuffer()
    ) {
        self.type = type
        self.code = code
        self.messageID = messageID
        self.token = token
        self.options = options
        self.payload = payload
        sortOptions()
    }

    /// Creates a message from options already sorted by number (the decoder's path).
    init(
        type: CoAPMessageType,
        code: CoAPCode,
        messageID: UInt16,
        token: CoAPToken,
        sortedOptions: [CoAPOption],
        payload: ByteBuffer
    ) {
        self.type = type
        self.code = code
        self.messageID = messageID
        self.token = token
        self.options = sortedOptions
        self.payload = payload
    }

    private mutating func sortOptions() {
        var sorted = true
        for k in options.indices.dropFirst() where options[k - 1].number > options[k].number {
            sorted = false
            break
        }
        if !sorted {
            // Stable sort: keep repeated options in order.
            options = options.enumerated().sorted {
                $0.element.number != $1.element.number ? $0.element.number < $1.element.number : $0.offset < $1.offset
            }.map(\.element)
        }
    }

    // MARK: Option access

    /// Every option with `number`, in order.
    public func options(_ number: CoAPOptionNumber) -> some Collection<CoAPOption> {
        options.lazy.filter { $0.number == number }
    }

    /// The first option with `number`, if any.
    @inlinable public func option(_ number: CoAPOptionNumber) -> CoAPOption? {
        for o in options {
            if o.number == number { return o }
            if o.number > number { return nil }
        }
        return nil
    }

    /// Whether an option with `number` is present.
    @inlinable public func hasOption(_ number: CoAPOptionNumber) -> Bool { option(number) != nil }

    /// Appends an option, keeping options sorted by number (after existing options of the same number).
    public mutating func addOption(_ option: CoAPOption) {
        var index = options.endIndex
        while index > options.startIndex && options[index - 1].number > option.number { index -= 1 }
        options.insert(option, at: index)
    }

    /// Removes every option with `number`.
    public mutating func removeOptions(_ number: CoAPOptionNumber) {
        options.removeAll { $0.number == number }
    }

    /// Replaces every option with `number` by `option` (or removes them when `nil`).
    public mutating func setOption(_ number: CoAPOptionNumber, _ option: CoAPOption?) {
        removeOptions(number)
        if let option { addOption(option) }
    }

    /// Replaces every option of `number` by the given values, in order.
    public mutating func setOptions(_ number: CoAPOptionNumber, _ values: [CoAPOption]) {
        removeOptions(number)
        for v in values { addOption(v) }
    }

    /// The Uri-Path segments, e.g. `["rd", "5a3f"]`.
    public var uriPath: [String] {
        get { options(.uriPath).map(\.stringValue) }
        set { setOptions(.uriPath, newValue.map { CoAPOption(number: .uriPath, string: $0) }) }
    }

    /// The Uri-Path as one string with a leading slash, e.g. `/rd/5a3f` (`/` when there is none).
    public var uriPathString: String { "/" + uriPath.joined(separator: "/") }

    /// The Uri-Query items, e.g. `["ep=dev1", "lt=300"]`.
    public var uriQuery: [String] {
        get { options(.uriQuery).map(\.stringValue) }
        set { setOptions(.uriQuery, newValue.map { CoAPOption(number: .uriQuery, string: $0) }) }
    }

    /// The Location-Path segments, e.g. `["rd", "5a3f"]`.
    public var locationPath: [String] {
        get { options(.locationPath).map(\.stringValue) }
        set { setOptions(.locationPath, newValue.map { CoAPOption(number: .locationPath, string: $0) }) }
    }

    /// The Content-Format option.
    public var contentFormat: CoAPContentFormat? {
        get { option(.contentFormat)?.uintValue.flatMap { UInt16(exactly: $0) }.map(CoAPContentFormat.init(rawValue:)) }
        set { setOption(.contentFormat, newValue.map { CoAPOption(number: .contentFormat, uint: UInt32($0.rawValue)) }) }
    }

    /// The Accept option.
    public var accept: CoAPContentFormat? {
        get { option(.accept)?.uintValue.flatMap { UInt16(exactly: $0) }.map(CoAPContentFormat.init(rawValue:)) }
        set { setOption(.accept, newValue.map { CoAPOption(number: .accept, uint: UInt32($0.rawValue)) }) }
    }

    /// The Observe option (a 24-bit value).
    public var observe: UInt32? {
        get { option(.observe)?.uintValue }
        set { setOption(.observe, newValue.map { CoAPOption(number: .observe, uint: $0 & 0xFF_FFFF) }) }
    }

    /// The Max-Age option in seconds (absent means 60 s per RFC 7252).
    public var maxAge: UInt32? {
        get { option(.maxAge)?.uintValue }
        set { setOption(.maxAge, newValue.map { CoAPOption(number: .maxAge, uint: $0) }) }
    }

    /// The payload's bytes.
    public var payloadBytes: [UInt8] {
        payload.getBytes(at: payload.readerIndex, length: payload.readableBytes) ?? []
    }
}

extension CoAPMessage: CustomStringConvertible {
    /// A one-line summary, e.g. `CON GET mid=1 token=4a2f /rd?ep=x (12 bytes)`.
    public var description: String {
        var s = "\(type) \(code.isRequest ? code.name : code.description) mid=\(messageID)"
        if token.length > 0 { s += " token=\(token)" }
        let path = uriPath
        if !path.isEmpty { s += " /" + path.joined(separator: "/") }
        let query = uriQuery
        if !query.isEmpty { s += "?" + query.joined(separator: "&") }
        for o in options where o.number != .uriPath && o.number != .uriQuery {
            s += " \(o.number)"
            switch o.number.format {
            case .uint: s += "=\(o.uintValue.map(String.init) ?? "?")"
            case .string: s += "=\(o.stringValue)"
            default: if o.value.readableBytes > 0 { s += "[\(o.value.readableBytes)]" }
            }
        }
        if payload.readableBytes > 0 { s += " (\(payload.readableBytes) bytes)" }
        return s
    }
}
