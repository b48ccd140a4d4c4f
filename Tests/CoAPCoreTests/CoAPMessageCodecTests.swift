import CoAPCore
import NIOCore
import Testing

@Suite("CoAP message codec")
struct CoAPMessageCodecTests {
    @Test("RFC 7252 figure 16: CON GET /temperature with token, piggybacked 2.05 reply")
    func rfcExampleRoundTrip() throws {
        var request = CoAPMessage(type: .confirmable, code: .get, messageID: 0x7D34, token: CoAPToken([0x20])!)
        request.uriPath = ["temperature"]
        let bytes = request.encoded()
        #expect(Array(bytes.readableBytesView) == [0x41, 0x01, 0x7D, 0x34, 0x20, 0xBB] + Array("temperature".utf8))
        let decoded = try CoAPMessage(decoding: bytes)
        #expect(decoded == request)
        #expect(decoded.uriPath == ["temperature"])

        let response = CoAPMessage(
            type: .acknowledgement, code: .content, messageID: 0x7D34, token: CoAPToken([0x20])!,
            payload: ByteBuffer(string: "22.3 C"))
        let wire = Array(response.encoded().readableBytesView)
        #expect(wire == [0x61, 0x45, 0x7D, 0x34, 0x20, 0xFF] + Array("22.3 C".utf8))
    }

    @Test("extended option delta and length forms (13 and 14)")
    func extendedForms() throws {
        var m = CoAPMessage(type: .nonConfirmable, code: .post, messageID: 1)
        m.addOption(CoAPOption(number: .init(rawValue: 300), bytes: [UInt8](repeating: 7, count: 20)))
        m.addOption(CoAPOption(number: .init(rawValue: 2000), bytes: [UInt8](repeating: 9, count: 300)))
        let wire = m.encoded()
        #expect(wire.readableBytes == m.encodedSize)
        let d = try CoAPMessage(decoding: wire)
        #expect(d == m)
        // first option: delta 300 -> nibble 14 (+269 -> 31), length 20 -> nibble 13 (+13 -> 7)
        #expect(Array(wire.readableBytesView[4..<8]) == [0xED, 0x00, 0x1F, 0x07])
    }

    @Test("format errors carry a code and an offset", arguments: [
        ([0x41, 0x01, 0x00], CoAPMessageDecodingError.Code.truncated),
        ([0x81, 0x01, 0x00, 0x01], .unsupportedVersion),
        ([0x49, 0x01, 0x00, 0x01] + [UInt8](repeating: 0, count: 9), .invalidTokenLength),
        ([0x40, 0x01, 0x00, 0x01, 0xFF], .emptyPayloadAfterMarker),
        ([0x40, 0x01, 0x00, 0x01, 0xF0], .reservedNibble),
        ([0x40, 0x01, 0x00, 0x01, 0x0F], .reservedNibble),
        ([0x40, 0x01, 0x00, 0x01, 0x03, 0x61], .truncated),
        ([0x41, 0x00, 0x00, 0x01, 0x01], .nonEmptyEmptyMessage),
        ([0x40, 0x21, 0x00, 0x01], .reservedCodeClass),
    ] as [([UInt8], CoAPMessageDecodingError.Code)])
    func formatErrors(bytes: [UInt8], code: CoAPMessageDecodingError.Code) {
        #expect(throws: CoAPMessageDecodingError(code: code, reason: "", offset: 0)) {
            try CoAPMessage(decoding: bytes)
        }
    }
}
