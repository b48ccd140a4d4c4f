public import NIOCore

extension CoAPMessage {
    /// Decodes one datagram strictly (RFC 7252 section 3). Option values and the payload are slices of
    /// `datagram` (no copies); the only allocation is the options array.
    public init(decoding datagram: ByteBuffer) throws(CoAPMessageDecodingError) {
        let base = datagram.readerIndex
        let end = datagram.writerIndex
        guard end - base >= 4 else {
            throw CoAPMessageDecodingError(code: .truncated, reason: "a CoAP header has 4 bytes, got \(end - base)", offset: end - base)
        }
        let b0 = datagram.getInteger(at: base, as: UInt8.self)!
        let code = CoAPCode(rawValue: datagram.getInteger(at: base + 1, as: UInt8.self)!)
        let messageID = datagram.getInteger(at: base + 2, as: UInt16.self)!
        let version = b0 >> 6
        let type = CoAPMessageType(rawValue: (b0 >> 4) & 0x3)!
        let tkl = Int(b0 & 0x0F)
        guard version == 1 else {
            throw CoAPMessageDecodingError(
                code: .unsupportedVersion, reason: "version \(version) (only 1 exists)", offset: 0,
                messageID: messageID, messageType: type)
        }
        guard tkl <= 8 else {
            throw CoAPMessageDecodingError(
                code: .invalidTokenLength, reason: "token length \(tkl) (0 to 8 allowed)", offset: 0,
                messageID: messageID, messageType: type)
        }
        let cls = code.codeClass
        guard cls != 1 && cls < 6 else {
            throw CoAPMessageDecodingError(
                code: .reservedCodeClass, reason: "code \(code) uses a reserved class", offset: 1,
                messageID: messageID, messageType: type)
        }
        var index = base + 4
        guard end - index >= tkl else {
            throw CoAPMessageDecodingError(
                code: .truncated, reason: "token of \(tkl) bytes runs past the end", offset: index - base,
                messageID: messageID, messageType: type)
        }
        var tokenValue: UInt64 = 0
        for k in 0..<tkl { tokenValue = tokenValue << 8 | UInt64(datagram.getInteger(at: index + k, as: UInt8.self)!) }
        index += tkl
        let token = CoAPToken(storage: tokenValue, length: UInt8(tkl))

        if code.isEmpty && (tkl != 0 || index != end) {
            throw CoAPMessageDecodingError(
                code: .nonEmptyEmptyMessage, reason: "an empty message (0.00) must be 4 bytes with no token",
                offset: 4, messageID: messageID, messageType: type)
        }

        var options: [CoAPOption] = []
        var number: UInt32 = 0
        var payload = ByteBuffer()
        while index < end {
            let head = datagram.getInteger(at: index, as: UInt8.self)!
            let headOffset = index - base
            if head == 0xFF {
                index += 1
                guard index < end else {
                    throw CoAPMessageDecodingError(
                        code: .emptyPayloadAfterMarker, reason: "payload marker with no payload", offset: headOffset,
                        messageID: messageID, messageType: type)
                }
                payload = datagram.getSlice(at: index, length: end - index)!
                index = end
                break
            }
            index += 1
            let deltaNibble = head >> 4
            let lengthNibble = head & 0x0F
            func extended(_ nibble: UInt8, what: String) throws(CoAPMessageDecodingError) -> UInt32 {
                switch nibble {
                case 13:
                    guard index < end else {
                        throw CoAPMessageDecodingError(
                            code: .truncated, reason: "extended option \(what) runs past the end", offset: index - base,
                            optionNumber: number, messageID: messageID, messageType: type)
                    }
                    let v = UInt32(datagram.getInteger(at: index, as: UInt8.self)!) + 13
                    index += 1
                    return v
                case 14:
                    guard end - index >= 2 else {
                        throw CoAPMessageDecodingError(
                            code: .truncated, reason: "extended option \(what) runs past the end", offset: index - base,
                            optionNumber: number, messageID: messageID, messageType: type)
                    }
                    let v = UInt32(datagram.getInteger(at: index, as: UInt16.self)!) + 269
                    index += 2
                    return v
                case 15:
                    throw CoAPMessageDecodingError(
                        code: .reservedNibble, reason: "option \(what) nibble 15 is reserved for the payload marker",
                        offset: headOffset, optionNumber: number, messageID: messageID, messageType: type)
                default:
                    return UInt32(nibble)
                }
            }
            let delta = try extended(deltaNibble, what: "delta")
            let length = Int(try extended(lengthNibble, what: "length"))
            number += delta
            guard number <= 0xFFFF else {
                throw CoAPMessageDecodingError(
                    code: .optionNumberOverflow, reason: "option number \(number) exceeds 65535", offset: headOffset,
                    optionNumber: number, messageID: messageID, messageType: type)
            }
            guard end - index >= length else {
                throw CoAPMessageDecodingError(
                    code: .truncated, reason: "option value of \(length) bytes runs past the end",
                    offset: index - base, optionNumber: number, messageID: messageID, messageType: type)
            }
            if options.isEmpty { options.reserveCapacity(8) }
            options.append(
                CoAPOption(number: CoAPOptionNumber(rawValue: UInt16(number)), value: datagram.getSlice(at: index, length: length)!))
            index += length
        }
        self.init(type: type, code: code, messageID: messageID, token: token, sortedOptions: options, payload: payload)
    }

    /// Decodes one datagram given as bytes.
    public init(decoding bytes: some Collection<UInt8>) throws(CoAPMessageDecodingError) {
        try self.init(decoding: ByteBuffer(bytes: bytes))
    }

    /// The encoded size in bytes.
    public var encodedSize: Int {
        var size = 4 + Int(token.length)
        var previous: UInt16 = 0
        for o in options {
            let delta = Int(o.number.rawValue - previous)
            let length = o.value.readableBytes
            size += 1 + Self.extendedSize(delta) + Self.extendedSize(length) + length
            previous = o.number.rawValue
        }
        if payload.readableBytes > 0 { size += 1 + payload.readableBytes }
        return size
    }

    @inline(__always) static func extendedSize(_ v: Int) -> Int { v < 13 ? 0 : (v < 269 ? 1 : 2) }

    /// The longest option value the wire format can carry (RFC 7252 3.1: 14 + 2 bytes, 65535 + 269).
    public static let maximumOptionValueLength = 65_535 + 269

    /// Writes the wire form into `buffer`; returns the number of bytes written.
    ///
    /// - Precondition: every option value is at most `maximumOptionValueLength` bytes.
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        let start = buffer.writerIndex
        buffer.writeInteger(UInt8(0x40 | type.rawValue << 4 | token.length))
        buffer.writeInteger(code.rawValue)
        buffer.writeInteger(messageID)
        var t = token.storage
        var tokenBytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tokenBytes) { raw in
            for k in stride(from: Int(token.length) - 1, through: 0, by: -1) {
                raw[k] = UInt8(truncatingIfNeeded: t)
                t >>= 8
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[0..<Int(token.length)]))
        }
        var previous: UInt16 = 0
        for o in options {
            let delta = Int(o.number.rawValue - previous)
            let length = o.value.readableBytes
            precondition(length <= Self.maximumOptionValueLength, "option \(o.number) is longer than CoAP allows")
            @inline(__always) func nibble(_ v: Int) -> UInt8 { v < 13 ? UInt8(v) : (v < 269 ? 13 : 14) }
            buffer.writeInteger(nibble(delta) << 4 | nibble(length))
            @inline(__always) func writeExtended(_ v: Int) {
                if v >= 269 {
                    buffer.writeInteger(UInt16(v - 269))
                } else if v >= 13 {
                    buffer.writeInteger(UInt8(v - 13))
                }
            }
            writeExtended(delta)
            writeExtended(length)
            buffer.writeImmutableBuffer(o.value)
            previous = o.number.rawValue
        }
        if payload.readableBytes > 0 {
            buffer.writeInteger(UInt8(0xFF))
            buffer.writeImmutableBuffer(payload)
        }
        return buffer.writerIndex - start
    }

    /// The wire form as a new buffer.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: encodedSize)
        encode(into: &buffer)
        return buffer
    }
}
