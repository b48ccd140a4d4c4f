import Codecs
import LwM2MModel
import Testing

@Suite("Random trees and mutated payloads")
struct RandomRoundTripTests {
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomTreesRoundTripThroughTLV(seed: UInt64) throws {
        var gen = RandomNodes(seed: seed)
        for _ in 0..<300 {
            let sample = gen.sample()
            let codec = LwM2MCodec(definitions: sample.registry)
            let bytes = try codec.encode(sample.node, at: sample.path, as: .tlv)
            let decoded = try codec.decodeReportingUntyped(bytes, at: sample.path, as: .tlv)
            #expect(decoded.node == sample.node, "seed \(seed) at \(sample.path)")
            #expect(decoded.untypedPaths.isEmpty)
        }
    }

    @Test func randomSingleValuesRoundTripThroughTextAndTLV() throws {
        var gen = RandomNodes(seed: 5)
        for _ in 0..<500 {
            var sample = gen.sample(level: .resource)
            guard case .resource(let r) = sample.node, !r.isMultiple else { continue }
            let codec = LwM2MCodec(definitions: sample.registry)
            for format in [LwM2MContentFormat.textPlain, .tlv] {
                let bytes = try codec.encode(sample.node, at: sample.path, as: format)
                #expect(try codec.decode(bytes, at: sample.path, as: format) == sample.node)
            }
            sample = gen.sample(level: .resourceInstance)
            let riCodec = LwM2MCodec(definitions: sample.registry)
            for format in [LwM2MContentFormat.textPlain, .tlv] {
                let bytes = try riCodec.encode(sample.node, at: sample.path, as: format)
                #expect(try riCodec.decode(bytes, at: sample.path, as: format) == sample.node)
            }
        }
    }

    @Test func withoutDefinitionsTLVKeepsRawBytesThatReencodeIdentically() throws {
        // Decoding with no registry yields opaque values; they must carry the exact original bytes.
        var gen = RandomNodes(seed: 77)
        let untypedCodec = LwM2MCodec(definitions: nil)
        for _ in 0..<200 {
            let sample = gen.sample(level: .objectInstance)
            let bytes = try LwM2MCodec(definitions: sample.registry).encode(sample.node, at: sample.path, as: .tlv)
            let decoded = try untypedCodec.decodeReportingUntyped(bytes, at: sample.path, as: .tlv)
            guard case .objectInstance(let instance) = decoded.node else { Issue.record("not an instance"); continue }
            #expect(decoded.untypedPaths.count == instance.resources.count)
            #expect(try untypedCodec.encode(decoded.node, at: sample.path, as: .tlv) == bytes)
        }
    }

    /// Payloads every mutation starts from: the specification vectors and random valid encodings.
    func corpus() throws -> [(LwM2MPath, [UInt8], LwM2MRegistry)] {
        var out: [(LwM2MPath, [UInt8], LwM2MRegistry)] = [
            (.instance(3, 0), TLVCodecTests.specDevice, TestDefinitions.registry),
            (.object(2), TLVCodecTests.specAccessControl, TestDefinitions.registry),
            (.object(1), TLVCodecTests.specServer, TestDefinitions.registry),
            (.instance(65, 0), TLVCodecTests.specObjlnkInstance, TestDefinitions.registry),
            (.object(66), TLVCodecTests.specObjlnkObject, TestDefinitions.registry),
        ]
        var gen = RandomNodes(seed: 1234)
        gen.maxResources = 5
        for _ in 0..<20 {
            let s = gen.sample()
            out.append((s.path, try LwM2MTLVCodec.encode(s.node, at: s.path), s.registry))
        }
        return out
    }

    /// A hand-written corpus of hostile TLV payloads (hex): each must fail at every path of `malformedPaths`.
    static let malformedTLV = [
        "C8", "C8 00", "C8 00 05 41", "D0 00 FF", "D8 00 FF FF FF 00", "F8 FF", "E8 01 02 03",
        "88 07 FF 42 00", "08 00 03 C1 09", "08 00 03 08 00 00", "88 07 02 88 07 00", "48 00 03 41 00 01",
        "C1 09 64 FF", "00 00 C1 09 64",
    ]

    /// The paths (one per level, typed by `TestDefinitions.registry`) the malformed TLV corpus is decoded at.
    static let malformedPaths = [
        LwM2MPath.object(3), .instance(3, 0), .resource(3, 0, 7), .resourceInstance(3, 0, 7, 0),
    ]

    /// Each payload of the malformed corpus fails with a typed error and an offset.
    @Test(arguments: malformedTLV)
    func malformedCorpusFailsWithOffsets(payload: String) {
        for path in Self.malformedPaths {
            let error = codecError { try LwM2MTLVCodec.decode(hex(payload), at: path, definitions: TestDefinitions.registry) }
            #expect(error != nil, "\(payload) at \(path) decoded")
            #expect(error?.offset != nil, "\(payload) at \(path): \(String(describing: error))")
        }
    }

    @Test func mutatedPayloadsNeverCrashAndFailWithOffsets() throws {
        var rng = SeededGenerator(seed: 2024)
        let corpus = try corpus()
        var failures = 0
        for k in 0..<20_000 {
            let (path, original, registry) = corpus[k % corpus.count]
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                guard !bytes.isEmpty else { break }
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0...4, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 2: bytes.removeSubrange(i...)
                case 3: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                default: bytes.append(UInt8.random(in: 0...255, using: &rng))
                }
            }
            switch Result(catching: { () throws(LwM2MCodecError) in
                try LwM2MTLVCodec.decode(bytes, at: path, definitions: registry)
            }) {
            case .success(let node):
                // Whatever decodes encodes again, and that encoding is stable (bytes, so NaN floats compare).
                let again = try LwM2MTLVCodec.encode(node, at: path)
                let redecoded = try LwM2MTLVCodec.decode(again, at: path, definitions: registry)
                #expect(try LwM2MTLVCodec.encode(redecoded, at: path) == again)
            case .failure(let error):
                failures += 1
                #expect(error.offset != nil, "\(error)")
            }
        }
        #expect(failures > 1000)
    }

    @Test func mutatedTextNeverCrashes() {
        var rng = SeededGenerator(seed: 31)
        let types: [LwM2MResourceType?] = [.integer, .unsignedInteger, .float, .boolean, .time, .objectLink, .opaque,
                                           .string, .coreLink, nil]
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &rng)).map { _ in
                Int.random(in: 0...3, using: &rng) == 0 ? UInt8.random(in: 0...255, using: &rng)
                    : Array("0123456789-+.:eE=/A".utf8)[Int.random(in: 0...18, using: &rng)]
            }
            let type = types[Int.random(in: 0..<types.count, using: &rng)]
            if case .failure(let error) = Result(catching: { () throws(LwM2MCodecError) in
                try LwM2MTextCodec.decode(bytes, as: type)
            }) {
                #expect(error.offset != nil)
            }
        }
    }
}
