import CoAPCore
import NIOCore

/// A small deterministic generator (SplitMix64) for loss patterns in tests.
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Test helpers for block-wise and observe tests.
enum BlockTest {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    static func body(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ $0 >> 8) }
    }

    static func put(_ path: [String], body: [UInt8], mid: UInt16 = 1, token: UInt8 = 1) -> CoAPMessage {
        var m = CoAPMessage(
            type: .confirmable, code: .put, messageID: mid, token: CoAPToken([token])!, payload: ByteBuffer(bytes: body))
        m.uriPath = path
        m.contentFormat = .octetStream
        return m
    }

    static func block1Put(
        _ path: [String], number: UInt32, more: Bool, size: Int, payload: [UInt8], mid: UInt16
    ) -> CoAPMessage {
        var m = put(path, body: payload, mid: mid)
        m.setBlock1(try! CoAPBlockOption(number: number, more: more, size: size))
        return m
    }

    static func get(_ path: [String], mid: UInt16 = 1, token: UInt8 = 1) -> CoAPMessage {
        var m = CoAPMessage(type: .confirmable, code: .get, messageID: mid, token: CoAPToken([token])!)
        m.uriPath = path
        return m
    }

    static func content(for request: CoAPMessage, body: [UInt8]) -> CoAPMessage {
        var r = CoAPMessage(
            type: .acknowledgement, code: .content, messageID: request.messageID, token: request.token,
            payload: ByteBuffer(bytes: body))
        r.contentFormat = .octetStream
        return r
    }
}

extension CoAPBlock1Reassembler.Action {
    var response: CoAPMessage? {
        if case .respond(let m) = self { return m }
        return nil
    }
    var completed: (request: CoAPMessage, block1: CoAPBlockOption)? {
        if case .complete(let r, let b) = self { return (r, b) }
        return nil
    }
    var isPassThrough: Bool {
        if case .passThrough = self { return true }
        return false
    }
}
