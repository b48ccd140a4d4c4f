@testable import Codecs
import LwM2MModel
import Testing

/// The CBOR codecs' fast paths must give exactly what the general paths give: the same bytes from the SenML CBOR
/// node encoder as from the record encoder, and the same node, records or error from the SenML CBOR decoder's fast
/// path as from the shared pack reader.
@Suite("CBOR fast paths")
struct CBORFastPathTests {
    /// What a decode gave: a value or an error's code and offset.
    enum Outcome<T: Equatable>: Equatable {
        case value(T)
        case error(LwM2MCodecError.Code, Int?)

        /// The value, if there is one.
        var records: T? {
            if case .value(let v) = self { return v }
            return nil
        }

        init(_ body: () throws(LwM2MCodecError) -> T) {
            do throws(LwM2MCodecError) {
                self = .value(try body())
            } catch {
                self = .error(error.code, error.offset)
            }
        }
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func nodeEncoderWritesWhatTheRecordEncoderWrites(seed: UInt64) throws {
        var gen = RandomNodes(seed: seed)
        for _ in 0..<300 {
            let s = gen.sample()
            var fromNode: [UInt8] = [0xAB]  // appends after what is there
            try SenMLCBORCodec.encode(s.node, at: s.path, into: &fromNode)
            var fromRecords: [UInt8] = [0xAB]
            try SenMLCBORCodec.encode(records: s.node.records(at: s.path), into: &fromRecords)
            #expect(fromNode == fromRecords, "\(s.path)")
        }
    }

    /// Valid SenML CBOR payloads (definite lengths from the encoder, then the same with indefinite-length pack and
    /// records) and random mutations of them.
    @Test func decodeFastPathAgreesWithThePackReader() throws {
        var gen = RandomNodes(seed: 99)
        gen.maxResources = 5
        var rng = SeededGenerator(seed: 7)
        var fast = 0
        for k in 0..<3000 {
            let s = gen.sample()
            var bytes: [UInt8] = []
            try SenMLCBORCodec.encode(s.node, at: s.path, into: &bytes)
            if k % 3 == 1 {
                // Indefinite-length pack (and first record when it has a one-byte map head).
                bytes[0] = 0x9F
                bytes.append(0xFF)
            }
            if k % 2 == 0 {
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    guard !bytes.isEmpty else { break }
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0...3, using: &rng) {
                    case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                    case 2: bytes.removeSubrange(i...)
                    default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                    }
                }
            }
            let registry = k % 5 == 0 ? nil : s.registry
            bytes.withUnsafeBytes { raw in
                let node = Outcome { () throws(LwM2MCodecError) in
                    try SenMLCBORCodec.decode(raw, at: s.path, definitions: registry)
                }
                let general = Outcome { () throws(LwM2MCodecError) in
                    var storage = LwM2MNodeStorage()
                    return try SenMLPackReader.decodeNode(
                        SenMLCBORCodec.Syntax(raw), at: s.path, definitions: registry, reusing: &storage)
                }
                #expect(node == general, "\(hex(bytes)) at \(s.path)")
                let records = Outcome { () throws(LwM2MCodecError) in
                    try SenMLCBORCodec.decodeRecords(raw, definitions: registry)
                }
                let generalRecords = Outcome { () throws(LwM2MCodecError) in
                    try SenMLPackReader.decodeRecords(SenMLCBORCodec.Syntax(raw), definitions: registry)
                }
                #expect(records == generalRecords, "\(hex(bytes))")
                if case .value = node { fast += 1 }
            }
        }
        #expect(fast > 1000)
    }

    /// Time series (base time, relative times) take the fast path and resolve as the pack reader resolves them.
    @Test func timeSeriesDecodeAgrees() throws {
        let records = (0..<20).map { k in
            LwM2MRecord(
                path: .resource(3303, 0, 5700), value: .float(20 + Double(k) * 0.1),
                timestamp: k % 4 == 0 ? nil : 1_700_000_000 + Double(k))
        }
        var series: [UInt8] = []
        try SenMLCBORCodec.encode(records: records, into: &series)
        // Hand-written: bt then a relative t, a negative zero float, a byte string and a boolean.
        let extra = bytes(hex: "84 A4 21 65 2F 31 2F 30 2F 22 1A 65 53 F1 00 00 61 30 02 F9 80 00 A2 00 61 31 06 20"
            + " A3 00 61 32 06 0A 08 42 01 02 A2 00 61 33 04 F5")
        for (payload, count) in [(series, 20), (extra, 4)] {
            payload.withUnsafeBytes { raw in
                let fast = Outcome { () throws(LwM2MCodecError) in try SenMLCBORCodec.decodeRecords(raw, definitions: nil) }
                let general = Outcome { () throws(LwM2MCodecError) in
                    try SenMLPackReader.decodeRecords(SenMLCBORCodec.Syntax(raw), definitions: nil)
                }
                #expect(fast == general)
                #expect(fast == .value(general.records ?? []) && general.records?.count == count)
            }
        }
    }
}
