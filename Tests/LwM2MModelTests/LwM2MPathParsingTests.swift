import LwM2MModel
import Testing

@Suite("LwM2M path parsing")
struct LwM2MPathParsingTests {
    @Test(arguments: [
        ("/", LwM2MPath.root),
        ("/3", .object(3)),
        ("/3/0", .instance(3, 0)),
        ("/3/0/9", .resource(3, 0, 9)),
        ("/3/0/11/0", .resourceInstance(3, 0, 11, 0)),
        ("/65534/65534/65534/65534", .resourceInstance(65534, 65534, 65534, 65534)),
        ("/0/0/0/0", .resourceInstance(0, 0, 0, 0)),
    ])
    func validPaths(text: String, expected: LwM2MPath) throws {
        let path = try LwM2MPath(parsing: text)
        #expect(path == expected)
        #expect(path.description == text)
    }

    @Test(arguments: [
        ("", LwM2MPathError.Code.empty),
        ("3/0/9", .missingLeadingSlash),
        (" /3", .missingLeadingSlash),
        ("//", .emptySegment),
        ("/3//9", .emptySegment),
        ("/3/0/", .emptySegment),
        ("/3/a", .nonNumericSegment),
        ("/3/-1", .nonNumericSegment),
        ("/+3", .nonNumericSegment),
        ("/3/0 ", .nonNumericSegment),
        ("/3/0.5", .nonNumericSegment),
        ("/65535", .reservedIdentifier),
        ("/3/65535", .reservedIdentifier),
        ("/65536", .identifierOutOfRange),
        ("/3/99999999999999999999", .identifierOutOfRange),
        ("/1/2/3/4/5", .tooDeep),
        ("/1/2/3/4/", .tooDeep),
        ("/03", .leadingZero),
        ("/3/00", .leadingZero),
        ("/3_1.1/0", .invalidVersionHint),
        ("/3/٣", .nonNumericSegment),
    ])
    func invalidPaths(text: String, code: LwM2MPathError.Code) {
        #expect {
            try LwM2MPath(parsing: text)
        } throws: { error in
            guard let error = error as? LwM2MPathError else { return false }
            return error.code == code && !error.reason.isEmpty && error.input == text
        }
    }

    @Test func errorSaysWhereAndWhy() {
        do {
            _ = try LwM2MPath(parsing: "/3/0/x")
            Issue.record("accepted /3/0/x")
        } catch {
            #expect(error.code == .nonNumericSegment)
            #expect(error.offset == 5)
            #expect(error.description.contains("/3/0/x"))
        }
    }

    @Test func segmentsFromUriPath() throws {
        #expect(try LwM2MPath(segments: ["3", "0", "9"]) == .resource(3, 0, 9))
        #expect(try LwM2MPath(segments: [String]()) == .root)
        #expect(throws: LwM2MPathError(code: .emptySegment, reason: "", input: "", offset: 0)) {
            try LwM2MPath(segments: ["3", ""])
        }
    }

    @Test(arguments: [
        ("/3_1.1/0/9", LwM2MVersionedPath(path: .resource(3, 0, 9), objectVersion: .v1_1)),
        ("/3_1.0", LwM2MVersionedPath(path: .object(3), objectVersion: .v1_0)),
        ("/3303_2.10/1", LwM2MVersionedPath(path: .instance(3303, 1), objectVersion: LwM2MVersion(major: 2, minor: 10))),
        ("/3/0/9", LwM2MVersionedPath(path: .resource(3, 0, 9), objectVersion: nil)),
        ("/", LwM2MVersionedPath(path: .root, objectVersion: nil)),
    ])
    func versionedPaths(text: String, expected: LwM2MVersionedPath) throws {
        let parsed = try LwM2MVersionedPath(parsing: text)
        #expect(parsed == expected)
        #expect(parsed.description == text)
    }

    @Test(arguments: ["/3_/0", "/3_1", "/3_1./0", "/3_.1", "/3_1.1.1", "/3/0_1.1", "/3_a.b", "/_1.1", "/3_1.1_1.2"])
    func invalidVersionedPaths(text: String) {
        #expect(throws: LwM2MPathError.self) { try LwM2MVersionedPath(parsing: text) }
    }

    @Test func versionHintIsNotPartOfThePath() throws {
        let versioned = try LwM2MVersionedPath(parsing: "/3_1.1/0/9")
        #expect(versioned.path == .resource(3, 0, 9))
        #expect(versioned.path.description == "/3/0/9")
    }

    // MARK: Property-style

    static func randomPath(_ rng: inout SeededGenerator) -> LwM2MPath {
        var path = LwM2MPath.root
        let depth = Int.random(in: 0...4, using: &rng)
        for _ in 0..<depth {
            // Mix small IDs (common) with the full range, including the 65534 edge.
            let id: UInt16 = switch Int.random(in: 0..<4, using: &rng) {
            case 0: UInt16.random(in: 0...10, using: &rng)
            case 1: 65534
            default: UInt16.random(in: 0...65534, using: &rng)
            }
            path = path.appending(id)!
        }
        return path
    }

    @Test(arguments: [1 as UInt64, 42, 0xC0FFEE])
    func randomRoundTrips(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<2000 {
            let path = Self.randomPath(&rng)
            let text = path.description
            #expect(try LwM2MPath(parsing: text) == path)
            let version = LwM2MVersion(major: UInt16.random(in: 0...20, using: &rng), minor: UInt16.random(in: 0...20, using: &rng))
            let versioned = LwM2MVersionedPath(path: path, objectVersion: version)
            #expect(try LwM2MVersionedPath(parsing: versioned.description) == versioned)
            // Ordering agrees with the segment-wise comparison of the identifiers.
            let other = Self.randomPath(&rng)
            let a = (0..<4).map { path[$0].map(Int.init) ?? -1 }
            let b = (0..<4).map { other[$0].map(Int.init) ?? -1 }
            #expect((path < other) == a.lexicographicallyPrecedes(b))
            #expect(path.isPrefix(of: other) == (path.depth <= other.depth && a.prefix(path.depth) == b.prefix(path.depth)))
        }
    }

    @Test(arguments: [7 as UInt64, 99])
    func randomGarbageNeverTrapsAndNeverAcceptsNonCanonicalText(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let alphabet = Array("/0123456789_.a -")
        for _ in 0..<5000 {
            let length = Int.random(in: 0...16, using: &rng)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &rng)! })
            if let path = try? LwM2MPath(parsing: text) {
                // Whatever is accepted prints back to exactly the input.
                #expect(path.description == text)
            }
            if let versioned = try? LwM2MVersionedPath(parsing: text) {
                #expect(versioned.path.depth <= 4)
            }
        }
    }
}
