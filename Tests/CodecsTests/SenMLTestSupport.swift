@testable import Codecs
import LwM2MModel

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { b in let s = String(b, radix: 16); return b < 16 ? "0" + s : s }.joined()
}

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(hex.filter { !$0.isWhitespace })
    if chars.count % 2 == 1 { chars.append("0") }
    var k = 0
    while k < chars.count {
        out.append(UInt8(String(chars[k...k + 1]), radix: 16)!)
        k += 2
    }
    return out
}

/// The reference Device instance /3/0 (issue #4) and its definition.
enum DeviceFixture {
    static let instance = LwM2MObjectInstance(id: 0, resources: [
        .single(0, .string("Open Mobile Alliance")),
        .single(1, .string("Lightweight M2M Client")),
        .single(2, .string("345000123")),
        .single(3, .string("1.0")),
        .multiple(6, [0: .integer(1), 1: .integer(5)]),
        .multiple(7, [0: .integer(3800), 1: .integer(5000)]),
        .multiple(8, [0: .integer(125), 1: .integer(900)]),
        .single(9, .integer(100)),
        .single(10, .integer(15)),
        .multiple(11, [0: .integer(0)]),
        .single(13, .time(1_367_491_215)),
        .single(14, .string("+02:00")),
        .single(15, .string("U")),
        .single(16, .string("U")),
    ])

    static let definition = LwM2MObjectDefinition(
        id: 3, name: "Device", isMultiple: false, isMandatory: true,
        resources: [
            .init(id: 0, name: "Manufacturer", operations: .read, isMultiple: false, isMandatory: false, type: .string),
            .init(id: 1, name: "Model Number", operations: .read, isMultiple: false, isMandatory: false, type: .string),
            .init(id: 2, name: "Serial Number", operations: .read, isMultiple: false, isMandatory: false, type: .string),
            .init(id: 3, name: "Firmware Version", operations: .read, isMultiple: false, isMandatory: false, type: .string),
            .init(id: 4, name: "Reboot", operations: .execute, isMultiple: false, isMandatory: true, type: .none),
            .init(id: 6, name: "Available Power Sources", operations: .read, isMultiple: true, isMandatory: false, type: .integer),
            .init(id: 7, name: "Power Source Voltage", operations: .read, isMultiple: true, isMandatory: false, type: .integer),
            .init(id: 8, name: "Power Source Current", operations: .read, isMultiple: true, isMandatory: false, type: .integer),
            .init(id: 9, name: "Battery Level", operations: .read, isMultiple: false, isMandatory: false, type: .integer),
            .init(id: 10, name: "Memory Free", operations: .read, isMultiple: false, isMandatory: false, type: .integer),
            .init(id: 11, name: "Error Code", operations: .read, isMultiple: true, isMandatory: true, type: .integer),
            .init(id: 13, name: "Current Time", operations: .readWrite, isMultiple: false, isMandatory: false, type: .time),
            .init(id: 14, name: "UTC Offset", operations: .readWrite, isMultiple: false, isMandatory: false, type: .string),
            .init(id: 15, name: "Timezone", operations: .readWrite, isMultiple: false, isMandatory: false, type: .string),
            .init(id: 16, name: "Supported Binding and Modes", operations: .read, isMultiple: false, isMandatory: true, type: .string),
        ])

    static let registry = LwM2MRegistry([definition])
}

/// The four node formats under one interface, for tests that run over all of them.
enum NodeFormat: String, CaseIterable, CustomStringConvertible, Sendable {
    case senmlJSON, senmlCBOR, lwm2mJSON, lwm2mCBOR

    var description: String { rawValue }

    func encode(_ node: LwM2MNode, at path: LwM2MPath) throws(LwM2MCodecError) -> [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .senmlJSON: try SenMLJSONCodec.encode(node, at: path, into: &out)
        case .senmlCBOR: try SenMLCBORCodec.encode(node, at: path, into: &out)
        case .lwm2mJSON: try LwM2MJSONCodec.encode(node, at: path, into: &out)
        case .lwm2mCBOR: try LwM2MCBORCodec.encode(node, at: path, into: &out)
        }
        return out
    }

    func encode(records: [LwM2MRecord]) throws(LwM2MCodecError) -> [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .senmlJSON: try SenMLJSONCodec.encode(records: records, into: &out)
        case .senmlCBOR: try SenMLCBORCodec.encode(records: records, into: &out)
        case .lwm2mJSON: try LwM2MJSONCodec.encode(records: records, into: &out)
        case .lwm2mCBOR: try LwM2MCBORCodec.encode(records: records, into: &out)
        }
        return out
    }

    func decode(_ bytes: [UInt8], at path: LwM2MPath, definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> LwM2MNode
    {
        try typed { try bytes.withUnsafeBytes { (b) in
            switch self {
            case .senmlJSON: return try SenMLJSONCodec.decode(b, at: path, definitions: definitions)
            case .senmlCBOR: return try SenMLCBORCodec.decode(b, at: path, definitions: definitions)
            case .lwm2mJSON: return try LwM2MJSONCodec.decode(b, at: path, definitions: definitions)
            case .lwm2mCBOR: return try LwM2MCBORCodec.decode(b, at: path, definitions: definitions)
            }
        } }
    }

    func decodeRecords(_ bytes: [UInt8], definitions: (any LwM2MDefinitionProvider)?)
        throws(LwM2MCodecError) -> [LwM2MRecord]
    {
        try typed { try bytes.withUnsafeBytes { (b) in
            switch self {
            case .senmlJSON: return try SenMLJSONCodec.decodeRecords(b, definitions: definitions)
            case .senmlCBOR: return try SenMLCBORCodec.decodeRecords(b, definitions: definitions)
            case .lwm2mJSON: return try LwM2MJSONCodec.decodeRecords(b, definitions: definitions)
            case .lwm2mCBOR: return try LwM2MCBORCodec.decodeRecords(b, definitions: definitions)
            }
        } }
    }
}

/// Runs `body`, whose errors are known to be codec errors (`withUnsafeBytes` erases typed throws).
func typed<R>(_ body: () throws -> R) throws(LwM2MCodecError) -> R {
    do {
        return try body()
    } catch let error as LwM2MCodecError {
        throw error
    } catch {
        fatalError("unexpected error \(error)")
    }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
