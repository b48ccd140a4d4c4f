import LwM2MModel
import Testing

@Suite("LwM2M attributes")
struct LwM2MAttributesTests {
    @Test func parsesAndPrintsAQueryString() throws {
        let attributes = try LwM2MAttributes(query: "pmin=10&pmax=60&gt=20.5")
        #expect(attributes.pmin == 10)
        #expect(attributes.pmax == 60)
        #expect(attributes.gt == 20.5)
        #expect(attributes.lt == nil)
        #expect(attributes.queryString == "pmin=10&pmax=60&gt=20.5")
        #expect(try LwM2MAttributes(query: "?gt=20.5&pmax=60&pmin=10") == attributes)
    }

    @Test func everyAttribute() throws {
        let text = "pmin=1&pmax=2&gt=30&lt=-4.25&st=0.5&epmin=5&epmax=6&edge=1&con=0&hqmax=7"
            + "&dim=3&ssid=101&uri=coap://h:5683&ver=1.1&lwm2m=1.2"
        let a = try LwM2MAttributes(query: text)
        #expect(a.epmin == 5 && a.epmax == 6 && a.edge == true && a.con == false && a.hqmax == 7)
        #expect(a.dim == 3 && a.ssid == 101 && a.uri == "coap://h:5683")
        #expect(a.ver == .v1_1 && a.lwm2m == .v1_2 && a.lt == -4.25 && a.st == 0.5)
        #expect(a.queryString == text)
        #expect(a.names.count == LwM2MAttributeName.allCases.count)
    }

    @Test func valuelessAttributesAreCleared() throws {
        let a = try LwM2MAttributes(query: "pmin&gt=3")
        #expect(a.pmin == nil)
        #expect(a.cleared == [.pmin])
        #expect(a.queryString == "gt=3&pmin")

        let stored = try LwM2MAttributes(query: "pmin=10&pmax=60")
        let updated = stored.applying(a)
        #expect(updated.pmin == nil && updated.pmax == 60 && updated.gt == 3 && updated.cleared.isEmpty)
    }

    @Test(arguments: [
        ("foo=1", LwM2MAttributeError.Code.unknownAttribute),
        ("pmin=-1", .invalidValue),
        ("pmin=abc", .invalidValue),
        ("pmin=", .invalidValue),
        ("pmin=4294967296", .invalidValue),
        ("gt=0x10", .invalidValue),
        ("gt=nan", .invalidValue),
        ("gt=1e999", .invalidValue),
        ("st=-1", .invalidValue),
        ("edge=2", .invalidValue),
        ("con=true", .invalidValue),
        ("dim=256", .invalidValue),
        ("ssid=0", .invalidValue),
        ("ssid=65535", .invalidValue),
        ("ver=1", .invalidValue),
        ("uri=", .invalidValue),
        ("pmin=1&pmin=2", .duplicateAttribute),
        ("pmin&pmin=2", .duplicateAttribute),
    ])
    func rejectsBadQueries(query: String, code: LwM2MAttributeError.Code) {
        #expect {
            try LwM2MAttributes(query: query)
        } throws: { ($0 as? LwM2MAttributeError)?.code == code }
    }

    @Test func linkFormatAttributeLists() throws {
        let a = try LwM2MAttributes(linkAttributes: ";pmin=10;pmax=60;dim=2;uri=\"coap://[::1]:5683/a;b\";rt=\"oma.lwm2m\";ct=110;obs")
        #expect(a.pmin == 10 && a.pmax == 60 && a.dim == 2)
        #expect(a.uri == "coap://[::1]:5683/a;b")
        #expect(a.otherParameters == [
            LwM2MLinkParameter(name: "rt", value: "oma.lwm2m"),
            LwM2MLinkParameter(name: "ct", value: "110"),
            LwM2MLinkParameter(name: "obs", value: nil),
        ])
        #expect(a.linkFormat == ";pmin=10;pmax=60;dim=2;uri=\"coap://[::1]:5683/a;b\";rt=\"oma.lwm2m\";ct=110;obs")
        #expect(try LwM2MAttributes(linkAttributes: a.linkFormat) == a)
        #expect(try LwM2MAttributes(linkAttributes: "ver=1.1").ver == .v1_1)
        #expect(throws: LwM2MAttributeError.self) { try LwM2MAttributes(linkAttributes: ";uri=\"open") }
    }

    // MARK: Validation

    static let numeric = LwM2MResourceDefinition(
        id: 9, name: "Battery Level", operations: .read, isMultiple: false, isMandatory: false, type: .integer)
    static let text = LwM2MResourceDefinition(
        id: 0, name: "Manufacturer", operations: .read, isMultiple: false, isMandatory: false, type: .string)
    static let boolean = LwM2MResourceDefinition(
        id: 5850, name: "On/Off", operations: .readWrite, isMultiple: false, isMandatory: true, type: .boolean)
    static let multiple = LwM2MResourceDefinition(
        id: 6, name: "Available Power Sources", operations: .read, isMultiple: true, isMandatory: false,
        type: .integer)

    func code(_ body: () throws -> Void) -> LwM2MAttributeError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? LwM2MAttributeError)?.code ?? LwM2MAttributeError.Code.unknownAttribute
        }
    }

    @Test func combinationRules() throws {
        #expect(code { try LwM2MAttributes(query: "pmin=10&pmax=60").validateCombinations() } == nil)
        #expect(code { try LwM2MAttributes(query: "pmin=10&pmax=10").validateCombinations() } == nil)
        #expect(code { try LwM2MAttributes(query: "pmin=60&pmax=10").validateCombinations() } == .invalidCombination)
        #expect(code { try LwM2MAttributes(query: "epmin=5&epmax=5").validateCombinations() } == .invalidCombination)
        #expect(code { try LwM2MAttributes(query: "epmin=5&epmax=6").validateCombinations() } == nil)
        #expect(code { try LwM2MAttributes(query: "lt=10&gt=10").validateCombinations() } == .invalidCombination)
        #expect(code { try LwM2MAttributes(query: "lt=10&gt=20").validateCombinations() } == nil)
        // lt + 2*st must stay below gt.
        #expect(code { try LwM2MAttributes(query: "lt=10&gt=20&st=4.9").validateCombinations() } == nil)
        #expect(code { try LwM2MAttributes(query: "lt=10&gt=20&st=5").validateCombinations() } == .invalidCombination)
        // st alone, or with one threshold, is fine.
        #expect(code { try LwM2MAttributes(query: "gt=20&st=50").validateCombinations() } == nil)
    }

    @Test func levelsAndTypes() throws {
        let thresholds = try LwM2MAttributes(query: "gt=5&lt=1&st=1")
        #expect(code { try thresholds.validate(level: .resource, resource: Self.numeric) } == nil)
        #expect(code { try thresholds.validate(level: .resourceInstance, resource: Self.multiple) } == nil)
        #expect(code { try thresholds.validate(level: .object) } == .notApplicable)
        #expect(code { try thresholds.validate(level: .objectInstance) } == .notApplicable)
        #expect(code { try thresholds.validate(level: .resource, resource: Self.text) } == .wrongResourceType)

        let periods = try LwM2MAttributes(query: "pmin=1&pmax=5")
        for level in [LwM2MPath.Level.object, .objectInstance, .resource] {
            #expect(code { try periods.validate(level: level, version: .v1_0) } == nil)
        }
        #expect(code { try periods.validate(level: .root) } == .notApplicable)
        #expect(code { try periods.validate(level: .resourceInstance, version: .v1_0) } == .notApplicable)
        #expect(code { try periods.validate(level: .resourceInstance, version: .v1_1) } == nil)

        let edge = try LwM2MAttributes(query: "edge=1")
        #expect(code { try edge.validate(level: .resource, resource: Self.boolean) } == nil)
        #expect(code { try edge.validate(level: .resource, resource: Self.numeric) } == .wrongResourceType)
        #expect(code { try edge.validate(level: .resource, version: .v1_1) } == .unsupportedVersion)
        #expect(code { try LwM2MAttributes(query: "epmin=1").validate(level: .object, version: .v1_0) }
            == .unsupportedVersion)

        #expect(code { try LwM2MAttributes(query: "dim=2").validate(level: .resource, resource: Self.multiple) } == nil)
        #expect(code { try LwM2MAttributes(query: "dim=2").validate(level: .resource, resource: Self.numeric) }
            == .wrongResourceType)
        #expect(code { try LwM2MAttributes(query: "ver=1.1").validate(level: .object) } == nil)
        #expect(code { try LwM2MAttributes(query: "ver=1.1").validate(level: .objectInstance) } == .notApplicable)
        #expect(code { try LwM2MAttributes(query: "ssid=1&uri=coap://h").validate(level: .objectInstance) } == nil)
        #expect(code { try LwM2MAttributes(query: "lwm2m=1.1").validate(level: .root) } == nil)
        #expect(code { try LwM2MAttributes(query: "dim=2").validate(level: .resource, forWriteAttributes: true) }
            == .readOnly)
        #expect(code { try LwM2MAttributes(query: "pmin=1&pmax=0").validate(level: .object) } == .invalidCombination)
    }

    @Test(arguments: [3 as UInt64, 1234])
    func randomRoundTrips(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<1000 {
            var a = LwM2MAttributes()
            if Bool.random(using: &rng) { a.pmin = UInt32.random(in: 0...100_000, using: &rng) }
            if Bool.random(using: &rng) { a.pmax = UInt32.random(in: 0...UInt32.max, using: &rng) }
            if Bool.random(using: &rng) { a.gt = Double(Int.random(in: -10_000...10_000, using: &rng)) / 8 }
            if Bool.random(using: &rng) { a.lt = Double.random(in: -1e6...1e6, using: &rng) }
            if Bool.random(using: &rng) { a.st = Double.random(in: 0...100, using: &rng) }
            if Bool.random(using: &rng) { a.epmax = UInt32.random(in: 0...3600, using: &rng) }
            if Bool.random(using: &rng) { a.edge = Bool.random(using: &rng) }
            if Bool.random(using: &rng) { a.dim = UInt8.random(in: 0...255, using: &rng) }
            if Bool.random(using: &rng) { a.ssid = UInt16.random(in: 1...65534, using: &rng) }
            if Bool.random(using: &rng) { a.cleared.insert(.hqmax) }
            #expect(try LwM2MAttributes(query: a.queryString) == a)
            #expect(try LwM2MAttributes(linkAttributes: a.linkFormat) == a)
        }
    }
}
