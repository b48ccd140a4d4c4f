import Foundation
import LwM2MModel
import Testing

/// Builds small DDF documents for the loader tests.
enum DDF {
    static func item(_ id: String, name: String = "Res", ops: String = "R", multiple: String = "Single",
                     mandatory: String = "Optional", type: String = "Integer") -> String {
        """
        <Item ID="\(id)"><Name>\(name)</Name><Operations>\(ops)</Operations>
        <MultipleInstances>\(multiple)</MultipleInstances><Mandatory>\(mandatory)</Mandatory>
        <Type>\(type)</Type><RangeEnumeration></RangeEnumeration><Units></Units><Description></Description></Item>
        """
    }

    static func object(id: String = "4242", name: String = "Test", versions: String = "<LWM2MVersion>1.1</LWM2MVersion><ObjectVersion>1.2</ObjectVersion>",
                       items: [String]) -> String {
        """
        <?xml version="1.0" encoding="utf-8"?>
        <LWM2M>
          <Object ObjectType="MODefinition">
            <Name>\(name)</Name>
            <Description1>d</Description1>
            <ObjectID>\(id)</ObjectID>
            <ObjectURN>urn:oma:lwm2m:x:\(id)</ObjectURN>
            \(versions)
            <MultipleInstances>Multiple</MultipleInstances>
            <Mandatory>Optional</Mandatory>
            <Resources>
        \(items.joined(separator: "\n"))
            </Resources>
            <Description2/>
          </Object>
        </LWM2M>
        """
    }

    static func load(_ text: String, file: String = "test.xml") throws(LwM2MDefinitionLoadingError) -> LwM2MObjectDefinition {
        let objects = try LwM2MDefinitionLoader.definitions(xml: Array(text.utf8), file: file)
        guard objects.count == 1 else {
            throw LwM2MDefinitionLoadingError(code: .wrongRoot, reason: "expected one object", file: file, line: 0)
        }
        return objects[0]
    }

    static func error(_ text: String, file: String = "bad.xml") -> LwM2MDefinitionLoadingError? {
        do {
            _ = try LwM2MDefinitionLoader.definitions(xml: Array(text.utf8), file: file)
            return nil
        } catch {
            return error
        }
    }
}

@Suite("DDF loader")
struct LwM2MDefinitionLoaderTests {
    @Test func readsAPlainFile() throws {
        let object = try DDF.load(DDF.object(items: [
            DDF.item("1", name: "B", ops: "RW", mandatory: "Mandatory", type: "Float"),
            DDF.item("0", name: "A", ops: "E", type: ""),
            DDF.item("2", name: "C", multiple: "Multiple", type: "Unsigned Integer"),
            DDF.item("3", name: "D", type: "Objlnk"),
            DDF.item("4", name: "E", ops: "", type: "Corelnk"),
        ]))
        #expect(object.id == 4242)
        #expect(object.name == "Test")
        #expect(object.objectVersion == "1.2")
        #expect(object.lwm2mVersion == "1.1")
        #expect(object.isMultiple && !object.isMandatory)
        #expect(object.urn == "urn:oma:lwm2m:x:4242")
        #expect(object.resources.map(\.id) == [0, 1, 2, 3, 4])
        #expect(object.resource(0)?.operations == .execute)
        #expect(object.resource(0)?.type == LwM2MResourceType.none)
        #expect(object.resource(1)?.operations == .readWrite)
        #expect(object.resource(1)?.isMandatory == true)
        #expect(object.resource(1)?.type == .float)
        #expect(object.resource(2)?.isMultiple == true)
        #expect(object.resource(2)?.type == .unsignedInteger)
        #expect(object.resource(3)?.type == .objectLink)
        #expect(object.resource(4)?.operations == [])
        #expect(object.resource(4)?.type == .coreLink)
    }

    @Test func toleratesRealWorldFiles() throws {
        // BOM, no XML declaration, comments everywhere (one hiding an Item), CDATA, entity and character
        // references, padded names, free-text ranges, no versions, unusual child order.
        let text = "\u{FEFF}" + """
        <!-- licence header -->
        <LWM2M xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://openmobilealliance.org/tech/profiles/LWM2M.xsd">
          <!-- before the object -->
          <Object ObjectType="MODefinition">
            <Description2><![CDATA[ trailing ]]></Description2>
            <ObjectID> 77 </ObjectID>
            <Name>  Padded &amp; Odd  </Name>
            <Description1><![CDATA[Say "<hi>" &]]> and &#60;bye&#62;</Description1>
            <Mandatory>Mandatory</Mandatory>
            <MultipleInstances>Single</MultipleInstances>
            <Resources>
              <!--
              <Item ID="5"><Name>Gone</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances>
              <Mandatory>Mandatory</Mandatory><Type>String</Type></Item>
              -->
              <Item ID="2">
                <Name> Level </Name><Type>Integer</Type><Operations>R</Operations>
                <Mandatory>Mandatory</Mandatory><MultipleInstances>Single</MultipleInstances>
                <Description>x</Description><Units>%</Units>
              </Item>
              <Item ID="0">
                <Name>Run</Name><Operations>E</Operations><MultipleInstances>Single</MultipleInstances>
                <Mandatory>Optional</Mandatory><Type/><RangeEnumeration>0..255 bytes, or &lt;7 to &gt;12.5</RangeEnumeration>
              </Item>
            </Resources>
          </Object>
        </LWM2M>
        """
        let object = try DDF.load(text)
        #expect(object.id == 77)
        #expect(object.name == "Padded & Odd")
        #expect(object.description == "Say \"<hi>\" & and <bye>")
        #expect(object.objectVersion == "1.0")
        #expect(object.lwm2mVersion == "1.0")
        #expect(!object.isMultiple && object.isMandatory)
        #expect(object.resources.map(\.id) == [0, 2])
        #expect(object.resource(2)?.name == "Level")
        #expect(object.resource(2)?.units == "%")
        #expect(object.resource(0)?.type == LwM2MResourceType.none)
        #expect(object.resource(0)?.rangeEnumeration == "0..255 bytes, or <7 to >12.5")
    }

    @Test func emptyVersionElementsDefaultToOnePointZero() throws {
        let object = try DDF.load(DDF.object(versions: "<LWM2MVersion></LWM2MVersion><ObjectVersion/>", items: []))
        #expect(object.objectVersion == "1.0" && object.lwm2mVersion == "1.0")
        #expect(object.resources.isEmpty)
    }

    @Test func externalEntitiesAreNeverFetched() throws {
        // A DTD pointing at the network and an external entity: the loader must not fetch or expand them.
        let text = """
        <?xml version="1.0"?>
        <!DOCTYPE LWM2M [ <!ENTITY ext SYSTEM "http://127.0.0.1:9/evil.txt"> ]>
        <LWM2M><Object><Name>N&ext;</Name><ObjectID>5000</ObjectID>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Resources/></Object></LWM2M>
        """
        let object = try DDF.load(text)
        #expect(object.name == "N")
    }

    // MARK: Errors

    @Test func truncatedXML() throws {
        let full = DDF.object(items: [DDF.item("0")])
        let error = try #require(DDF.error(String(full.prefix(full.count / 2)), file: "trunc.xml"))
        #expect(error.code == .malformedXML)
        #expect(error.file == "trunc.xml")
        #expect(error.line > 1)
        #expect(error.description.hasPrefix("trunc.xml:\(error.line): "))
        #expect(DDF.error("")?.code == .malformedXML)
        #expect(DDF.error("<LWM2M><Object></LWM2M>")?.code == .malformedXML)
    }

    @Test func hostileNestingIsRejected() throws {
        let deep = "<LWM2M>" + String(repeating: "<a>", count: 5000) + String(repeating: "</a>", count: 5000) + "</LWM2M>"
        #expect(DDF.error(deep)?.code == .malformedXML)
    }

    @Test func entityExpansionIsBounded() throws {
        // "Billion laughs": libxml2's amplification checks stop it; the loader reports it instead of hanging.
        var dtd = "<!ENTITY e0 \"lol\">"
        for level in 1...12 {
            dtd += "<!ENTITY e\(level) \"" + String(repeating: "&e\(level - 1);", count: 10) + "\">"
        }
        let text = "<?xml version=\"1.0\"?><!DOCTYPE LWM2M [\(dtd)]><LWM2M><Object><ObjectID>1</ObjectID>"
            + "<MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Name>&e12;</Name>"
            + "</Object></LWM2M>"
        let error = DDF.error(text)
        #expect(error?.code == .malformedXML, "\(String(describing: error))")
    }

    @Test func wrongRoot() throws {
        let error = try #require(DDF.error("<?xml version=\"1.0\"?>\n<Objects><Object/></Objects>"))
        #expect(error.code == .wrongRoot)
        #expect(error.line == 2)
        #expect(error.reason.contains("Objects"))
        #expect(DDF.error("<LWM2M><!-- nothing --></LWM2M>")?.code == .wrongRoot)
    }

    @Test func duplicateResourceID() throws {
        let text = DDF.object(items: [DDF.item("3"), DDF.item("4"), DDF.item("3")])
        let error = try #require(DDF.error(text))
        #expect(error.code == .duplicateResource)
        #expect(error.reason.contains("3"))
        #expect(error.line > 10)
    }

    @Test(arguments: ["65535", "70000", "-1", "x", "", "1.5", "0x10"])
    func badResourceID(id: String) throws {
        #expect(DDF.error(DDF.object(items: [DDF.item(id)]))?.code == .invalidIdentifier)
    }

    @Test(arguments: ["65535", "abc", "", "-3"])
    func badObjectID(id: String) throws {
        let code = DDF.error(DDF.object(id: id, items: []))?.code
        #expect(code == (id.isEmpty ? .missingElement : .invalidIdentifier))
    }

    @Test func badValues() {
        #expect(DDF.error(DDF.object(items: [DDF.item("0", ops: "X")]))?.code == .invalidValue)
        #expect(DDF.error(DDF.object(items: [DDF.item("0", type: "Int")]))?.code == .invalidValue)
        #expect(DDF.error(DDF.object(items: [DDF.item("0", multiple: "Many")]))?.code == .invalidValue)
        #expect(DDF.error(DDF.object(items: [DDF.item("0", mandatory: "Yes")]))?.code == .invalidValue)
        #expect(DDF.error(DDF.object(items: [DDF.item("0", name: " ")]))?.code == .missingElement)
        #expect(DDF.error(DDF.object(versions: "<ObjectVersion>one</ObjectVersion>", items: []))?.code == .invalidValue)
    }

    @Test func folderLoadingGoesOnAfterABadFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lwm2m-loader-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try DDF.object(id: "1000", items: [DDF.item("0")]).write(to: folder.appendingPathComponent("a.xml"), atomically: true, encoding: .utf8)
        try "<LWM2M><Object>".write(to: folder.appendingPathComponent("b.xml"), atomically: true, encoding: .utf8)
        try DDF.object(id: "1001", items: [DDF.item("0"), DDF.item("0")]).write(to: folder.appendingPathComponent("c.xml"), atomically: true, encoding: .utf8)
        try DDF.object(id: "1002", items: []).write(to: folder.appendingPathComponent("d.XML"), atomically: true, encoding: .utf8)
        try "not xml".write(to: folder.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)

        let result = LwM2MDefinitionLoader.definitions(folder: folder.path)
        #expect(result.fileCount == 4)
        #expect(result.definitions.map(\.id) == [1000, 1002])
        #expect(result.errors.map(\.code) == [.malformedXML, .duplicateResource])
        #expect(result.errors[0].file.hasSuffix("/b.xml"))
        #expect(result.errors[1].file.hasSuffix("/c.xml"))

        let missing = LwM2MDefinitionLoader.definitions(folder: folder.path + "/nope")
        #expect(missing.errors.map(\.code) == [.unreadableFile])
    }
}
