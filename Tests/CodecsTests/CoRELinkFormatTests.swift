import Codecs
import Testing

@Suite("CoRE link format")
struct CoRELinkFormatTests {
    @Test func registerPayload() throws {
        let text = #"</>;rt="oma.lwm2m";ct=110,</1>;ver=1.1,</1/0>,</3/0>"#
        let doc = try CoRELinkFormat(parsing: text)
        #expect(doc.parameters.isEmpty)
        #expect(doc.links.map(\.target) == ["/", "/1", "/1/0", "/3/0"])
        #expect(doc.links[0].attributes == [
            CoRELinkAttribute(name: "rt", value: .quoted("oma.lwm2m")), CoRELinkAttribute(name: "ct", value: .token("110")),
        ])
        #expect(doc.links[1].attribute("ver")?.stringValue == "1.1")
        #expect(doc.links[2].attributes.isEmpty)
        #expect(try doc.encoded() == text)
    }

    @Test func discoverPayload() throws {
        let text = "</3>;ver=1.1,</3/0>;pmin=10,</3/0/7>;dim=2,</3/0/13>;obs"
        let doc = try CoRELinkFormat(parsing: text)
        #expect(doc.links.count == 4)
        #expect(doc.links[2].attribute("dim")?.value == .token("2"))
        #expect(doc.links[3].attribute("obs")?.value == CoRELinkAttribute.Value.none)
        #expect(try doc.encoded() == text)
    }

    @Test func bootstrapDiscoverPayloadWithLeadingParameter() throws {
        let text = #"lwm2m="1.1",</0/0>;ssid=101;uri="coap://server.example.com:5683",</1/0>;ssid=101,</3/0>"#
        let doc = try CoRELinkFormat(parsing: text)
        #expect(doc.parameters == [CoRELinkAttribute(name: "lwm2m", value: .quoted("1.1"))])
        #expect(doc.links.map(\.target) == ["/0/0", "/1/0", "/3/0"])
        #expect(doc.links[0].attribute("uri")?.stringValue == "coap://server.example.com:5683")
        #expect(doc.links[0].attribute("ssid")?.value == .token("101"))
        #expect(try doc.encoded() == text)
        // The LwM2M 1.0 form puts the version on the root link.
        let v10 = try CoRELinkFormat(parsing: #"</>;lwm2m="1.0",</0/0>"#)
        #expect(v10.parameters.isEmpty && v10.links[0].attribute("lwm2m")?.stringValue == "1.0")
    }

    @Test func quotedValuesUnescapeAndEscape() throws {
        let doc = try CoRELinkFormat(parsing: #"</a>;title="say \"hi\" \\ ok";ct="60 110""#)
        #expect(doc.links[0].attribute("title")?.stringValue == #"say "hi" \ ok"#)
        #expect(try doc.encoded() == #"</a>;title="say \"hi\" \\ ok";ct="60 110""#)
        // A token that holds characters a ptoken may not is printed quoted.
        let printed = try CoRELinkFormat(links: [CoRELink(target: "/x", attributes: [.init(name: "rt", value: .token("a b,c"))])])
            .encoded()
        #expect(printed == #"</x>;rt="a b,c""#)
    }

    @Test func emptyAndWhitespace() throws {
        #expect(try CoRELinkFormat(parsing: "").links.isEmpty)
        let doc = try CoRELinkFormat(parsing: "</1/0>,\n </3/0>")
        #expect(doc.links.map(\.target) == ["/1/0", "/3/0"])
    }

    @Test(arguments: [
        ("</1/0", 0), ("</1/0>,", 7), ("</1/0>;", 7), ("</1/0>;=1", 7), ("</1/0>;a=", 9), (#"</1/0>;a="x"#, 9),
        ("</1/0> </3/0>", 7), ("</1 0>", 3), ("<</1>", 1), ("</1/0>;a=b c", 11), ("</1/0>;a=,", 9),
        (#"</1/0>;a="\"#, 9), ("x,y", 2), ("</a>;t=\"\u{01}\"", 8),
    ])
    func rejectsMalformedInputWithOffset(text: String, offset: Int) {
        let error = codecError { try CoRELinkFormat(parsing: text) }
        #expect(error?.code == .malformed, "\(text)")
        #expect(error?.offset == offset, "\(text): \(String(describing: error))")
    }

    @Test func rejectsInvalidUTF8() {
        let error = codecError { try CoRELinkFormat(parsing: [0x3C, 0x2F, 0xFF, 0x3E]) }
        #expect(error?.code == .malformed)
    }

    @Test func limitsCapHostileInput() {
        let many = Array(repeating: "</1>", count: 20).joined(separator: ",")
        #expect(codecError { try CoRELinkFormat(parsing: many, limits: .init(maxLinks: 10)) }?.code == .limitExceeded)
        let attrs = "</1>" + String(repeating: ";a", count: 100)
        #expect(codecError { try CoRELinkFormat(parsing: attrs) }?.code == .limitExceeded)
        #expect(codecError { try CoRELinkFormat(parsing: "</1>", limits: .init(maxLength: 3)) }?.code == .limitExceeded)
    }

    @Test func unprintableDocumentsAreRejected() {
        #expect(codecError { try CoRELinkFormat(links: [CoRELink(target: "/a>b")]).encoded() }?.code == .malformed)
        #expect(codecError {
            try CoRELinkFormat(links: [CoRELink(target: "/a", attributes: [.init(name: "a b", value: .none)])]).encoded()
        }?.code == .malformed)
    }

    @Test func randomMutationsNeverCrash() {
        let seeds = [
            #"</>;rt="oma.lwm2m";ct=110,</1>;ver=1.1,</1/0>,</3/0>"#,
            #"lwm2m="1.1",</0/0>;ssid=101;uri="coap://h:5683",</3/0>;pmin=10"#,
        ].map { Array($0.utf8) }
        var rng = SeededGenerator(seed: 99)
        var parsed = 0
        for k in 0..<5000 {
            var bytes = seeds[k % seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                }
                if bytes.isEmpty { bytes = [0x3C] }
            }
            switch Result(catching: { () throws(LwM2MCodecError) in try CoRELinkFormat(parsing: bytes) }) {
            case .success(let doc):
                parsed += 1
                // Whatever parses prints and parses back to the same document.
                let again = Result { () throws(LwM2MCodecError) in try CoRELinkFormat(parsing: doc.encoded()) }
                #expect((try? again.get()) == doc)
            case .failure(let error):
                #expect(error.offset != nil)
            }
        }
        #expect(parsed > 0)
    }
}
