import Testing

@testable import ServerKit

@Suite("Registration payload links")
struct RegistrationLinksTests {
    @Test("Quoted values may hold commas and semicolons; bare attributes and whitespace after separators are accepted")
    func quoting() throws {
        let links = try parseRegistrationLinks(Array(#"</>;rt="oma.lwm2m";ct="60 110", </1>;ver=1.1;obs,</x>;title="a,b;c""#.utf8))
        #expect(links.count == 3)
        #expect(links[0].target == "/")
        #expect(links[0].attribute("rt") == "oma.lwm2m")
        #expect(links[0].attribute("ct") == "60 110")
        #expect(links[1].attribute("ver") == "1.1")
        #expect(links[1].attribute("obs") == "")
        #expect(links[2].attribute("title") == "a,b;c")
    }

    @Test("An empty payload has no links; truncated input fails without trapping", arguments: [
        "<", "</3", "</3/0>;", "</3/0>;=1", "</3/0>,", "</3/0>;a=\"x", "x", "</3/0>x",
    ])
    func truncated(text: String) {
        #expect(throws: RegistrationPayloadError.self) { try parseRegistrationLinks(Array(text.utf8)) }
    }

    @Test("Link and attribute counts are capped")
    func caps() throws {
        #expect(try parseRegistrationLinks([]).isEmpty)
        let many = Array(repeating: "</3/0>", count: maxRegistrationLinks + 1).joined(separator: ",")
        #expect(throws: RegistrationPayloadError.self) { try parseRegistrationLinks(Array(many.utf8)) }
        let attrs = "</3/0>" + String(repeating: ";a=1", count: maxLinkAttributes + 1)
        #expect(throws: RegistrationPayloadError.self) { try parseRegistrationLinks(Array(attrs.utf8)) }
    }
}
