import Codecs
import LwM2MModel
import Testing

@Suite("LwM2MCodec facade")
struct LwM2MCodecTests {
    let codec = LwM2MCodec(definitions: TestDefinitions.registry)

    @Test func acceptableMatrix() {
        let levels: [LwM2MPath.Level] = [.root, .object, .objectInstance, .resource, .resourceInstance]
        func row(_ f: LwM2MContentFormat) -> [Bool] { levels.map { LwM2MCodec.acceptable(f, for: $0) } }
        for f in [LwM2MContentFormat.textPlain, .opaque, .cbor] {
            #expect(row(f) == [false, false, false, true, true])
        }
        #expect(row(.tlv) == [false, true, true, true, true])
        for f in [LwM2MContentFormat.senmlJSON, .senmlCBOR, .lwm2mJSON, .lwm2mCBOR] {
            #expect(row(f) == [true, true, true, true, true])
        }
        #expect(row(.linkFormat) == [false, false, false, false, false])
        let multiple = LwM2MNode.resource(.multiple(7, [0: .integer(1)]))
        #expect(!LwM2MCodec.acceptable(.textPlain, for: multiple))
        #expect(LwM2MCodec.acceptable(.tlv, for: multiple))
    }

    @Test func textThroughTheFacadeIsTypedByTheRegistry() throws {
        let bytes = try codec.encode(.resource(.single(9, .integer(100))), at: .resource(3, 0, 9), as: .textPlain)
        #expect(bytes == utf8("100"))
        #expect(try codec.decode(bytes, at: .resource(3, 0, 9), as: .textPlain) == .resource(.single(9, .integer(100))))
        #expect(try codec.decode(utf8("1367491215"), at: .resource(3, 0, 13), as: .textPlain)
            == .resource(.single(13, .time(1_367_491_215))))
        #expect(try codec.decode(utf8("3800"), at: .resourceInstance(3, 0, 7, 0), as: .textPlain)
            == .resourceInstance(.init(id: 0, value: .integer(3800))))
        // The legacy number maps to the same format.
        #expect(try LwM2MCodec.format(number: 1541) == .textPlain)
    }

    @Test func unknownResourceInTextIsAStringAndReported() throws {
        let decoded = try codec.decodeReportingUntyped(utf8("42"), at: .resource(3, 0, 99), as: .textPlain)
        #expect(decoded.node == .resource(.single(99, .string("42"))))
        #expect(decoded.untypedPaths == [.resource(3, 0, 99)])
        let known = try codec.decodeReportingUntyped(utf8("42"), at: .resource(3, 0, 9), as: .textPlain)
        #expect(known.untypedPaths.isEmpty)
        let unknownObject = try LwM2MCodec(definitions: nil).decode(utf8("x"), at: .resource(9999, 0, 1), as: .textPlain)
        #expect(unknownObject == .resource(.single(1, .string("x"))))
        let strict = LwM2MCodec(definitions: TestDefinitions.registry, unknownResources: .reject)
        #expect(codecError { try strict.decode(utf8("42"), at: .resource(3, 0, 99), as: .textPlain) }?.code
            == .unknownDefinition)
    }

    @Test func notAcceptableAndUnsupported() {
        let instance = LwM2MNode.objectInstance(.init(id: 0, resources: [.single(9, .integer(1))]))
        for f in [LwM2MContentFormat.textPlain, .opaque, .cbor] {
            let e = codecError { try codec.encode(instance, at: .instance(3, 0), as: f) }
            #expect(e?.code == .notAcceptable)
            #expect(e?.responseCode == .notAcceptable)
            #expect(codecError { try codec.decode(utf8("1"), at: .instance(3, 0), as: f) }?.code == .notAcceptable)
        }
        let multiple = LwM2MNode.resource(.multiple(7, [0: .integer(1)]))
        #expect(codecError { try codec.encode(multiple, at: .resource(3, 0, 7), as: .textPlain) }?.code == .notAcceptable)
        #expect(codecError { try codec.decode(utf8("1"), at: .resource(3, 0, 7), as: .textPlain) }?.code == .notAcceptable)
        #expect(codecError { try codec.decode(utf8("1"), at: .root, as: .tlv) }?.code == .notAcceptable)
        let linkError = codecError { try codec.encode(instance, at: .instance(3, 0), as: .linkFormat) }
        #expect(linkError?.code == .unsupportedFormat)
        #expect(linkError?.responseCode == .unsupportedContentFormat)
        #expect(codecError { try LwM2MCodec.format(number: 7) }?.code == .unsupportedFormat)
        #expect(codecError { try codec.encode(records: [], as: .tlv) }?.code == .notAcceptable)
        #expect(codecError { try codec.decode(records: [UInt8](), as: .textPlain) }?.code == .notAcceptable)
        #expect(codecError { try codec.decode(utf8("1"), at: .resourceInstance(3, 0, 9, 0), as: .textPlain) }?.code
            == .typeMismatch)
        let bad = codecError { try codec.decode(utf8("abc"), at: .resource(3, 0, 9), as: .textPlain) }
        #expect(bad?.code == .typeMismatch)
        #expect(bad?.responseCode == .badRequest)
    }

    @Test func opaqueThroughTheFacade() throws {
        let node = LwM2MNode.resource(.single(23, .opaque([0, 1, 2])))
        #expect(try codec.encode(node, at: .resource(1, 0, 23), as: .opaque) == [0, 1, 2])
        #expect(try codec.decode([0, 1, 2], at: .resource(1, 0, 23), as: .opaque) == node)
        #expect(try LwM2MCodec.format(number: 1544) == .opaque)
        #expect(codecError { try codec.decode([1], at: .resource(1, 0, 7), as: .opaque) }?.code == .typeMismatch)
        #expect(codecError {
            try codec.encode(.resource(.single(7, .string("U"))), at: .resource(1, 0, 7), as: .opaque)
        }?.code == .notAcceptable)
    }

    @Test func tlvThroughTheFacadeAppendsAndLeavesOutputIntactOnError() throws {
        var out: [UInt8] = [0xAA]
        try codec.encode(TLVCodecTests.deviceNode, at: .instance(3, 0), as: .tlv, into: &out)
        #expect(out == [0xAA] + TLVCodecTests.specDevice)
        #expect(try codec.decode(TLVCodecTests.specDevice, at: .instance(3, 0), as: .tlv) == TLVCodecTests.deviceNode)
        #expect(try LwM2MCodec.format(number: 1542) == .tlv)
        out = [0xAA]
        #expect(codecError {
            try codec.encode(.resource(.single(7, .float(.nan))), at: .resource(1, 0, 7), as: .textPlain, into: &out)
        } != nil)
        #expect(out == [0xAA])
        #expect(codecError { try codec.encode(TLVCodecTests.deviceNode, at: .instance(3, 1), as: .tlv) }?.code
            == .invalidPath)
    }
}
