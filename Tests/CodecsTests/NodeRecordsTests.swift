import Codecs
import LwM2MModel
import Testing

@Suite("Node <-> records")
struct NodeRecordsTests {
    static let device = LwM2MObjectDefinition(
        id: 3, name: "Device", isMultiple: false, isMandatory: true,
        resources: [
            .init(id: 0, name: "Manufacturer", operations: .read, isMultiple: false, isMandatory: false, type: .string),
            .init(id: 7, name: "Power Source Voltage", operations: .read, isMultiple: true, isMandatory: false, type: .integer),
            .init(id: 9, name: "Battery Level", operations: .read, isMultiple: false, isMandatory: false, type: .integer),
            .init(id: 13, name: "Current Time", operations: .readWrite, isMultiple: false, isMandatory: false, type: .time),
        ])
    let registry = LwM2MRegistry([device])

    @Test func flattenAndAssembleInstance() throws {
        let node = LwM2MNode.objectInstance(
            LwM2MObjectInstance(id: 0, resources: [
                .single(0, .string("ACME")), .multiple(7, [0: .integer(3800), 1: .integer(5000)]),
                .single(13, .time(1_367_491_215)),
            ]))
        let records = node.records(at: .instance(3, 0))
        #expect(records.map(\.path.description) == ["/3/0/0", "/3/0/7/0", "/3/0/7/1", "/3/0/13"])
        #expect(try LwM2MNode(records: records.reversed(), at: .instance(3, 0), definitions: registry) == node)
    }

    @Test func typingByDefinition() throws {
        // SenML-style numbers arrive as floats; the definition makes them integer / time.
        let records = [
            LwM2MRecord(path: .resource(3, 0, 9), value: .float(95)),
            LwM2MRecord(path: .resource(3, 0, 13), value: .float(1_367_491_215)),
        ]
        let node = try LwM2MNode(records: records, at: .instance(3, 0), definitions: registry)
        guard case .objectInstance(let i) = node else { Issue.record("not an instance"); return }
        #expect(i[resource: 9]?.value == .integer(95))
        #expect(i[resource: 13]?.value == .time(1_367_491_215))
        #expect(throws: LwM2MCodecError(code: .typeMismatch, reason: "")) {
            try LwM2MNode(records: [.init(path: .resource(3, 0, 9), value: .float(9.5))], at: .resource(3, 0, 9),
                          definitions: registry)
        }
    }

    @Test func rejectsDuplicatesAndOutsidePaths() {
        let dup = [LwM2MRecord(path: .resource(3, 0, 9), value: .integer(1)), .init(path: .resource(3, 0, 9), value: .integer(2))]
        #expect(throws: LwM2MCodecError(code: .duplicatePath, reason: "")) { try LwM2MNode(records: dup, at: .instance(3, 0)) }
        #expect(throws: LwM2MCodecError(code: .invalidPath, reason: "")) {
            try LwM2MNode(records: [.init(path: .resource(4, 0, 1), value: .integer(1))], at: .instance(3, 0))
        }
        #expect(throws: LwM2MCodecError(code: .malformed, reason: "")) {
            try LwM2MNode(records: [.init(path: .resource(3, 0, 7), value: .integer(1)),
                                    .init(path: .resourceInstance(3, 0, 7, 0), value: .integer(1))], at: .instance(3, 0))
        }
    }
}
