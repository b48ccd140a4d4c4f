import Codecs
import LwM2MModel
import Testing

@Suite("TLV codec")
struct TLVCodecTests {
    let registry = TestDefinitions.registry

    /// Core TS 1.1 section 7.4.3 (1.0.2 section 6.4.3.1): Read /3/0 on the example client's Device object.
    static let specDevice = hex("""
        C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65       // 0 "Open Mobile Alliance"
        C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74 // 1 "Lightweight M2M Client"
        C8 02 09 33 34 35 30 30 30 31 32 33                                         // 2 "345000123"
        C3 03 31 2E 30                                                              // 3 "1.0"
        86 06 41 00 01 41 01 05                                                     // 6 {0: 1, 1: 5}
        88 07 08 42 00 0E D8 42 01 13 88                                            // 7 {0: 3800, 1: 5000}
        87 08 41 00 7D 42 01 03 84                                                  // 8 {0: 125, 1: 900}
        C1 09 64                                                                    // 9 100
        C1 0A 0F                                                                    // 10 15
        83 0B 41 00 00                                                              // 11 {0: 0}
        C4 0D 51 82 42 8F                                                           // 13 1367491215
        C6 0E 2B 30 32 3A 30 30                                                     // 14 "+02:00"
        C1 10 55                                                                    // 16 "U"
        """)

    static let deviceNode = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: [
        .single(0, .string("Open Mobile Alliance")), .single(1, .string("Lightweight M2M Client")),
        .single(2, .string("345000123")), .single(3, .string("1.0")),
        .multiple(6, [0: .integer(1), 1: .integer(5)]), .multiple(7, [0: .integer(3800), 1: .integer(5000)]),
        .multiple(8, [0: .integer(125), 1: .integer(900)]), .single(9, .integer(100)), .single(10, .integer(15)),
        .multiple(11, [0: .integer(0)]), .single(13, .time(1_367_491_215)), .single(14, .string("+02:00")),
        .single(16, .string("U")),
    ]))

    /// Core TS 1.1 section 7.4.3 (Read /2): two Access Control object instances, the second with a 16-bit
    /// resource instance ID (310).
    static let specAccessControl = hex("""
        08 00 0E  C1 00 01  C1 01 00  83 02 41 7F 07  C1 03 7F
        08 02 12  C1 00 03  C1 01 00  87 02 41 7F 07 61 01 36 01  C1 03 7F
        """)

    static let accessControlNode = LwM2MNode.object(LwM2MObject(id: 2, instances: [
        LwM2MObjectInstance(id: 0, resources: [
            .single(0, .integer(1)), .single(1, .integer(0)), .multiple(2, [127: .integer(7)]), .single(3, .integer(127)),
        ]),
        LwM2MObjectInstance(id: 2, resources: [
            .single(0, .integer(3)), .single(1, .integer(0)), .multiple(2, [127: .integer(7), 310: .integer(1)]),
            .single(3, .integer(127)),
        ]),
    ]))

    /// Core TS 1.1 section 7.4.3 (Read /1): one Server object instance.
    static let specServer = hex("08 00 0F  C1 00 01  C4 01 00 01 51 80  C1 06 01  C1 07 55")

    /// Core TS 1.1 section 7.4.3 (Objlnk examples): Read /65/0, a multiple Objlnk resource pointing at /66.
    static let specObjlnkInstance = hex("""
        88 00 0C 44 00 00 42 00 00 44 01 00 42 00 01
        C8 01 0D 38 36 31 33 38 30 30 37 35 35 35 30 30
        C4 02 12 34 56 78
        """)

    /// ... and Read /66: two instances, each with a single Objlnk (67:0 and the null link).
    static let specObjlnkObject = hex("""
        08 00 26  C8 00 0B 6D 79 53 65 72 76 69 63 65 20 31  C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 34
                  C4 02 00 43 00 00
        08 01 26  C8 00 0B 6D 79 53 65 72 76 69 63 65 20 32  C8 01 0F 49 6E 74 65 72 6E 65 74 2E 31 35 2E 32 33 35
                  C4 02 FF FF FF FF
        """)

    @Test func specDeviceInstanceEncodesByteExact() throws {
        #expect(try LwM2MTLVCodec.encode(Self.deviceNode, at: .instance(3, 0)) == Self.specDevice)
    }

    @Test func specDeviceInstanceDecodes() throws {
        let decoded = try LwM2MTLVCodec.decode(Self.specDevice, at: .instance(3, 0), definitions: registry)
        #expect(decoded == Self.deviceNode)
    }

    @Test func specDeviceInstanceWrappedInObjectInstanceElementDecodes() throws {
        let wrapped = [0x08, 0x00, UInt8(Self.specDevice.count)] + Self.specDevice
        #expect(try LwM2MTLVCodec.decode(wrapped, at: .instance(3, 0), definitions: registry) == Self.deviceNode)
        #expect(codecError { try LwM2MTLVCodec.decode(wrapped, at: .instance(3, 1), definitions: registry) }?.code
            == .invalidPath)
    }

    @Test func specAccessControlObjectRoundTrips() throws {
        #expect(try LwM2MTLVCodec.encode(Self.accessControlNode, at: .object(2)) == Self.specAccessControl)
        #expect(try LwM2MTLVCodec.decode(Self.specAccessControl, at: .object(2), definitions: registry)
            == Self.accessControlNode)
    }

    @Test func specServerObjectRoundTrips() throws {
        let node = LwM2MNode.object(LwM2MObject(id: 1, instances: [LwM2MObjectInstance(id: 0, resources: [
            .single(0, .integer(1)), .single(1, .integer(86400)), .single(6, .boolean(true)), .single(7, .string("U")),
        ])]))
        #expect(try LwM2MTLVCodec.encode(node, at: .object(1)) == Self.specServer)
        #expect(try LwM2MTLVCodec.decode(Self.specServer, at: .object(1), definitions: registry) == node)
    }

    @Test func specObjectLinkExamplesRoundTrip() throws {
        let instance = LwM2MNode.objectInstance(LwM2MObjectInstance(id: 0, resources: [
            .multiple(0, [0: .objectLink(.init(objectID: 66, instanceID: 0)), 1: .objectLink(.init(objectID: 66, instanceID: 1))]),
            .single(1, .string("8613800755500")), .single(2, .integer(0x1234_5678)),
        ]))
        #expect(try LwM2MTLVCodec.encode(instance, at: .instance(65, 0)) == Self.specObjlnkInstance)
        #expect(try LwM2MTLVCodec.decode(Self.specObjlnkInstance, at: .instance(65, 0), definitions: registry) == instance)

        let object = LwM2MNode.object(LwM2MObject(id: 66, instances: [
            LwM2MObjectInstance(id: 0, resources: [
                .single(0, .string("myService 1")), .single(1, .string("Internet.15.234")),
                .single(2, .objectLink(.init(objectID: 67, instanceID: 0))),
            ]),
            LwM2MObjectInstance(id: 1, resources: [
                .single(0, .string("myService 2")), .single(1, .string("Internet.15.235")), .single(2, .objectLink(.null)),
            ]),
        ]))
        #expect(try LwM2MTLVCodec.encode(object, at: .object(66)) == Self.specObjlnkObject)
        #expect(try LwM2MTLVCodec.decode(Self.specObjlnkObject, at: .object(66), definitions: registry) == object)
    }

    @Test func singleResourceMultipleResourceAndResourceInstance() throws {
        let battery = LwM2MNode.resource(.single(9, .integer(100)))
        #expect(try LwM2MTLVCodec.encode(battery, at: .resource(3, 0, 9)) == hex("C1 09 64"))
        #expect(try LwM2MTLVCodec.decode(hex("C1 09 64"), at: .resource(3, 0, 9), definitions: registry) == battery)

        let voltage = LwM2MNode.resource(.multiple(7, [0: .integer(3800), 1: .integer(5000)]))
        let bytes = hex("88 07 08 42 00 0E D8 42 01 13 88")
        #expect(try LwM2MTLVCodec.encode(voltage, at: .resource(3, 0, 7)) == bytes)
        #expect(try LwM2MTLVCodec.decode(bytes, at: .resource(3, 0, 7), definitions: registry) == voltage)
        // Bare resource instances for a multiple resource are accepted too.
        #expect(try LwM2MTLVCodec.decode(hex("42 00 0E D8 42 01 13 88"), at: .resource(3, 0, 7), definitions: registry)
            == voltage)

        let instance = LwM2MNode.resourceInstance(LwM2MResourceInstance(id: 1, value: .integer(5000)))
        #expect(try LwM2MTLVCodec.encode(instance, at: .resourceInstance(3, 0, 7, 1)) == hex("42 01 13 88"))
        #expect(try LwM2MTLVCodec.decode(hex("42 01 13 88"), at: .resourceInstance(3, 0, 7, 1), definitions: registry)
            == instance)
    }

    @Test(arguments: [
        (Int64(0), "C1 00 00"), (127, "C1 00 7F"), (-128, "C1 00 80"), (128, "C2 00 00 80"), (-129, "C2 00 FF 7F"),
        (32767, "C2 00 7F FF"), (32768, "C4 00 00 00 80 00"), (-32769, "C4 00 FF FF 7F FF"),
        (2_147_483_647, "C4 00 7F FF FF FF"), (2_147_483_648, "C8 00 08 00 00 00 00 80 00 00 00"),
        (Int64.min, "C8 00 08 80 00 00 00 00 00 00 00"),
    ])
    func integersUseTheShortestWidth(value: Int64, bytes: String) throws {
        let node = LwM2MNode.resource(.single(0, .integer(value)))
        #expect(try LwM2MTLVCodec.encode(node, at: .resource(1, 0, 0)) == hex(bytes))
        #expect(try LwM2MTLVCodec.decode(hex(bytes), at: .resource(1, 0, 0), definitions: registry) == node)
    }

    @Test func everyDataType() throws {
        let cases: [(UInt16, LwM2MValue, String)] = [
            (21, .unsignedInteger(200), "C1 15 C8"),
            (21, .unsignedInteger(65535), "C2 15 FF FF"),
            (21, .unsignedInteger(UInt64.max), "C8 15 08 FF FF FF FF FF FF FF FF"),
            (22, .float(1.5), "C4 16 3F C0 00 00"),
            (22, .float(0.1), "C8 16 08 3F B9 99 99 99 99 99 9A"),
            (6, .boolean(false), "C1 06 00"),
            (23, .opaque([0xDE, 0xAD]), "C2 17 DE AD"),
            (23, .opaque([]), "C0 17"),
            (24, .objectLink(.init(objectID: 3, instanceID: 0)), "C4 18 00 03 00 00"),
            (25, .coreLink("</3/0>"), "C6 19 3C 2F 33 2F 30 3E"),
            (7, .string("é"), "C2 07 C3 A9"),
        ]
        for (rid, value, bytes) in cases {
            let node = LwM2MNode.resource(.single(rid, value))
            #expect(try LwM2MTLVCodec.encode(node, at: .resource(1, 0, rid)) == hex(bytes), "\(value)")
            #expect(try LwM2MTLVCodec.decode(hex(bytes), at: .resource(1, 0, rid), definitions: registry) == node)
        }
        // Time is carried like an integer; 4-byte floats and 16-bit IDs / 16- and 24-bit lengths decode.
        #expect(try LwM2MTLVCodec.decode(hex("C1 0D 05"), at: .resource(3, 0, 13), definitions: registry)
            == .resource(.single(13, .time(5))))
        let long = LwM2MNode.resource(.single(7, .string(String(repeating: "x", count: 300))))
        let longBytes = try LwM2MTLVCodec.encode(long, at: .resource(1, 0, 7))
        #expect(Array(longBytes.prefix(4)) == hex("D0 07 01 2C"))
        let huge = LwM2MNode.resource(.single(23, .opaque(Array(repeating: 7, count: 70_000))))
        let hugeBytes = try LwM2MTLVCodec.encode(huge, at: .resource(1, 0, 23))
        #expect(Array(hugeBytes.prefix(5)) == hex("D8 17 01 11 70"))
        #expect(try LwM2MTLVCodec.decode(hugeBytes, at: .resource(1, 0, 23), definitions: registry) == huge)
        let wideID = LwM2MNode.resource(.single(1000, .integer(1)))
        #expect(try LwM2MTLVCodec.encode(wideID, at: .resource(9, 0, 1000)) == hex("E1 03 E8 01"))
    }

    @Test func unknownResourcesKeepRawBytesAndAreReported() throws {
        let payload = hex("C1 09 64  C2 63 01 02  83 64 41 00 07")
        let decoded = try payload.withUnsafeBytes { raw in
            try LwM2MTLVCodec.decodeReportingUntyped(raw, at: .instance(3, 0), definitions: registry)
        }
        #expect(decoded.node == .objectInstance(LwM2MObjectInstance(id: 0, resources: [
            .single(9, .integer(100)), .single(99, .opaque([1, 2])), .multiple(100, [0: .opaque([7])]),
        ])))
        #expect(decoded.untypedPaths == [.resource(3, 0, 99), .resource(3, 0, 100)])
        let strict = LwM2MCodec(definitions: registry, unknownResources: .reject)
        #expect(codecError { try strict.decode(payload, at: .instance(3, 0), as: .tlv) }?.code == .unknownDefinition)
    }

    @Test func strictDecodingErrorsCarryOffsets() {
        let cases: [(LwM2MPath, String, LwM2MCodecError.Code, Int)] = [
            (.instance(3, 0), "C1 09", .truncated, 0),                     // value missing
            (.instance(3, 0), "C1 09 64 C8", .truncated, 3),                // header cut short
            (.instance(3, 0), "C1 09 64 C8 00 05 41", .truncated, 3),       // length beyond the payload
            (.resource(3, 0, 9), "C1 09 64 00", .trailingBytes, 3),
            (.resource(3, 0, 9), "C3 09 00 00 01", .typeMismatch, 2),       // 3-byte integer
            (.resource(1, 0, 22), "C2 16 00 01", .typeMismatch, 2),         // 2-byte float
            (.resource(1, 0, 6), "C1 06 02", .typeMismatch, 2),             // boolean 2
            (.resource(1, 0, 24), "C3 18 00 00 00", .typeMismatch, 2),      // 3-byte objlnk
            (.resource(1, 0, 7), "C1 07 FF", .malformed, 2),                // invalid UTF-8
            (.instance(3, 0), "41 00 01", .malformed, 0),                   // resource instance in an instance
            (.instance(3, 0), "83 06 C1 00 01", .malformed, 2),             // resource inside a multiple resource
            (.object(3), "C1 09 64", .malformed, 0),                        // resource directly in an object
            (.instance(3, 0), "C1 09 64 C1 09 65", .duplicatePath, 3),
            (.object(2), "00 00 00 00", .duplicatePath, 2),
            (.resource(3, 0, 9), "C1 0A 64", .invalidPath, 0),
            (.instance(3, 0), "C1 07 01", .typeMismatch, 0),                // single value for a multiple resource
            (.instance(3, 0), "83 09 41 00 01", .typeMismatch, 0),          // instances for a single resource
            (.instance(3, 0), "E1 FF FF 01", .invalidPath, 0),              // reserved ID 65535
            (.resourceInstance(3, 0, 7, 1), "41 00 01", .invalidPath, 0),
            (.resourceInstance(3, 0, 7, 1), "", .truncated, 0),
            (.resource(3, 0, 9), "", .truncated, 0),
        ]
        for (path, bytes, code, offset) in cases {
            let error = codecError { try LwM2MTLVCodec.decode(hex(bytes), at: path, definitions: registry) }
            #expect(error?.code == code, "\(bytes) at \(path): \(String(describing: error))")
            #expect(error?.offset == offset, "\(bytes) at \(path): \(String(describing: error))")
        }
    }

    @Test func encodingChecksThePath() {
        let node = LwM2MNode.resource(.single(9, .integer(1)))
        #expect(codecError { try LwM2MTLVCodec.encode(node, at: .resource(3, 0, 8)) }?.code == .invalidPath)
        #expect(codecError { try LwM2MTLVCodec.encode(node, at: .instance(3, 0)) }?.code == .invalidPath)
        #expect(codecError { try LwM2MTLVCodec.encode(node, at: .root) }?.code == .notAcceptable)
        var out: [UInt8] = [1, 2, 3]
        #expect(codecError { try LwM2MTLVCodec.encode(node, at: .root, into: &out) } != nil)
        #expect(out == [1, 2, 3])
    }

    @Test func unorderedPayloadsDecodeSorted() throws {
        let node = try LwM2MTLVCodec.decode(hex("C1 0A 0F C1 09 64"), at: .instance(3, 0), definitions: registry)
        #expect(node == .objectInstance(LwM2MObjectInstance(id: 0, resources: [
            .single(9, .integer(100)), .single(10, .integer(15)),
        ])))
        #expect(codecError {
            try LwM2MTLVCodec.decode(hex("C1 0A 0F C1 09 64 C1 0A 0F"), at: .instance(3, 0), definitions: registry)
        }?.code == .duplicatePath)
    }
}
