internal import CLibXML2
import Foundation

/// Reads LwM2M object definitions from OMA DDF XML (files valid against `LWM2M.xsd` / `LWM2M-v1_1.xsd`,
/// and the real-world files that are not) using libxml2.
///
/// libxml2 never reads from the network (`XML_PARSE_NONET`), loads no DTD and prints nothing: errors
/// are collected and returned as ``LwM2MDefinitionLoadingError``s naming the file and line.
///
/// Tolerated: byte-order marks, CDATA, comments (including commented-out items), entity and character
/// references, a missing or empty `LWM2MVersion`/`ObjectVersion` (both default to 1.0), an empty `Type`
/// (read as `.none`), an empty `Operations` (no operation), spaces around names and values, free-text
/// `RangeEnumeration`, and child elements in any order (matched by name).
public enum LwM2MDefinitionLoader {
    /// What loading a folder produced: every usable definition, and one error per unusable file.
    public struct FolderResult: Sendable {
        /// The definitions of every file that loaded, in file-name order.
        public var definitions: [LwM2MObjectDefinition]
        /// One error per file that did not load.
        public var errors: [LwM2MDefinitionLoadingError]
        /// The number of `.xml` files read.
        public var fileCount: Int
    }

    /// Parses one DDF document held in memory. `file` names it in errors.
    ///
    /// - Returns: the objects it defines (real files define exactly one).
    /// - Throws: ``LwM2MDefinitionLoadingError`` for the first problem found.
    public static func definitions(
        xml: some Collection<UInt8>, file: String
    ) throws(LwM2MDefinitionLoadingError) -> [LwM2MObjectDefinition] {
        let bytes = Array(xml)
        guard bytes.count < Int(Int32.max) else {
            throw LwM2MDefinitionLoadingError(code: .unreadableFile, reason: "file too large", file: file, line: 0)
        }
        let document = try LibXMLDocument(bytes: bytes, file: file)
        return try DDFReader(file: file).objects(in: document)
    }

    /// Parses the DDF file at `path`.
    ///
    /// - Throws: ``LwM2MDefinitionLoadingError``; `.unreadableFile` when it cannot be read.
    public static func definitions(file path: String) throws(LwM2MDefinitionLoadingError) -> [LwM2MObjectDefinition] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LwM2MDefinitionLoadingError(
                code: .unreadableFile, reason: "cannot read the file: \(error)", file: path, line: 0)
        }
        return try definitions(xml: data, file: path)
    }

    /// Loads every `*.xml` file directly inside `folder` (not recursing), in file-name order.
    ///
    /// A file that does not load adds an error to the result and loading goes on with the next one.
    /// A folder that cannot be listed gives a single `.unreadableFile` error.
    public static func definitions(folder: String) -> FolderResult {
        var result = FolderResult(definitions: [], errors: [], fileCount: 0)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            result.errors.append(LwM2MDefinitionLoadingError(
                code: .unreadableFile, reason: "cannot list the folder: \(error)", file: folder, line: 0))
            return result
        }
        for name in names.sorted() where name.lowercased().hasSuffix(".xml") {
            let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            result.fileCount += 1
            do {
                result.definitions += try definitions(file: path)
            } catch {
                result.errors.append(error)
            }
        }
        return result
    }
}

// MARK: - Schema validation

extension LwM2MDefinitionLoader {
    /// Checks the DDF file at `path` against an XML schema (e.g. OMA's `LWM2M.xsd`), for linting model files.
    /// Nothing is fetched from the network and nothing is printed.
    ///
    /// - Returns: `nil` when the file is valid, else a `.schemaViolation` error with the first problem's
    ///   line and message (and how many there were).
    /// - Throws: ``LwM2MDefinitionLoadingError`` when either file cannot be read or parsed, or the schema is
    ///   not a usable XSD.
    public static func schemaViolation(file path: String, schema schemaPath: String)
        throws(LwM2MDefinitionLoadingError) -> LwM2MDefinitionLoadingError?
    {
        let document = try LibXMLDocument(bytes: try readBytes(path), file: path)
        let schema = try LibXMLDocument(bytes: try readBytes(schemaPath), file: schemaPath)
        var errors = swiftlwm2m_xml_errors()
        let result = swiftlwm2m_validateWithSchema(schema.pointer, document.pointer, &errors)
        let message = withUnsafeBytes(of: &errors.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if result < 0 {
            throw LwM2MDefinitionLoadingError(
                code: .invalidValue, reason: "not a usable XML schema: \(message)", file: schemaPath,
                line: Int(errors.line))
        }
        guard result > 0 else { return nil }
        let more = errors.count > 1 ? " (and \(errors.count - 1) more)" : ""
        return LwM2MDefinitionLoadingError(
            code: .schemaViolation, reason: message + more, file: path, line: Int(errors.line))
    }

    static func readBytes(_ path: String) throws(LwM2MDefinitionLoadingError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw LwM2MDefinitionLoadingError(
                code: .unreadableFile, reason: "cannot read the file: \(error)", file: path, line: 0)
        }
    }
}

// MARK: - libxml2 layer

/// Owns one parsed libxml2 document and frees it in `deinit`.
final class LibXMLDocument {
    let pointer: xmlDocPtr

    /// Parses `bytes` with the loader's options; a parse failure becomes `.malformedXML` with line and message.
    init(bytes: [UInt8], file: String) throws(LwM2MDefinitionLoadingError) {
        xmlInitParser()
        guard let context = xmlNewParserCtxt() else {
            throw LwM2MDefinitionLoadingError(
                code: .unreadableFile, reason: "libxml2 could not allocate a parser", file: file, line: 0)
        }
        defer { xmlFreeParserCtxt(context) }
        let document: xmlDocPtr? = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                xmlCtxtReadMemory(context, chars.baseAddress, Int32(chars.count), nil, nil,
                                  swiftlwm2m_xmlLoaderOptions())
            }
        }
        let wellFormed = context.pointee.wellFormed != 0
        if let document, wellFormed {
            self.pointer = document
            return
        }
        if let document { xmlFreeDoc(document) }
        var line = 0
        var message = "the XML is not well-formed"
        if let error = xmlCtxtGetLastError(context) {
            line = Int(error.pointee.line)
            if let text = error.pointee.message {
                let trimmed = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { message = "malformed XML: " + trimmed }
            }
        }
        if bytes.isEmpty { message = "the file is empty" }
        throw LwM2MDefinitionLoadingError(code: .malformedXML, reason: message, file: file, line: line)
    }

    deinit { xmlFreeDoc(pointer) }

    /// The root element.
    var root: LibXMLElement? {
        guard let node = xmlDocGetRootElement(pointer) else { return nil }
        return LibXMLElement(node: node)
    }
}

/// A borrowed element of an `LibXMLDocument` (valid while the document lives).
struct LibXMLElement {
    let node: xmlNodePtr

    /// The element's local name.
    var name: String { node.pointee.name.map { String(cString: $0) } ?? "" }

    /// The line the element starts on.
    var line: Int { Int(xmlGetLineNo(node)) }

    /// The child elements, in document order (comments, text and processing instructions skipped).
    var children: [LibXMLElement] {
        var result: [LibXMLElement] = []
        var child = node.pointee.children
        while let c = child {
            if c.pointee.type == XML_ELEMENT_NODE { result.append(LibXMLElement(node: c)) }
            child = c.pointee.next
        }
        return result
    }

    /// The concatenated text and CDATA content of the element's direct and nested text (comments excluded).
    var text: String {
        // Fast path: a single text node (the common case) needs no intermediate buffer.
        if let only = node.pointee.children, only.pointee.next == nil,
           only.pointee.type == XML_TEXT_NODE || only.pointee.type == XML_CDATA_SECTION_NODE
        {
            return only.pointee.content.map { String(cString: $0) } ?? ""
        }
        var bytes: [UInt8] = []
        Self.appendText(of: node, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `text` without leading and trailing white space (Unicode white space, as in NBSP, included).
    var trimmedText: String {
        let full = text
        let scalars = full.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex && scalars.index(after: last) == scalars.endIndex { return full }
        return String(scalars[first...last])
    }

    /// The most text one element may contribute (a guard against entity expansion in hostile files).
    static let maximumTextLength = 1 << 20

    private static func appendText(of node: xmlNodePtr, to bytes: inout [UInt8]) {
        var child = node.pointee.children
        while let c = child, bytes.count < maximumTextLength {
            switch c.pointee.type {
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = c.pointee.content {
                    var p = content
                    while p.pointee != 0, bytes.count < maximumTextLength {
                        bytes.append(p.pointee)
                        p += 1
                    }
                }
            case XML_ELEMENT_NODE, XML_ENTITY_REF_NODE:
                appendText(of: c, to: &bytes)
            default:
                break
            }
            child = c.pointee.next
        }
    }

    /// The value of attribute `name`, or `nil`.
    func attribute(_ name: String) -> String? {
        guard let value = xmlGetProp(node, name) else { return nil }
        defer { swiftlwm2m_xmlFree(value) }
        return String(cString: value)
    }
}

// MARK: - DDF reading

/// Turns the elements of a DDF document into definitions.
struct DDFReader {
    let file: String

    func fail(_ code: LwM2MDefinitionLoadingError.Code, _ reason: String, _ line: Int) -> LwM2MDefinitionLoadingError {
        LwM2MDefinitionLoadingError(code: code, reason: reason, file: file, line: line)
    }

    func objects(in document: LibXMLDocument) throws(LwM2MDefinitionLoadingError) -> [LwM2MObjectDefinition] {
        guard let root = document.root else { throw fail(.wrongRoot, "the document has no root element", 0) }
        guard root.name == "LWM2M" else {
            throw fail(.wrongRoot, "the root element is <\(root.name)>, expected <LWM2M>", root.line)
        }
        let objectElements = root.children.filter { $0.name == "Object" }
        guard !objectElements.isEmpty else { throw fail(.wrongRoot, "<LWM2M> holds no <Object>", root.line) }
        var result: [LwM2MObjectDefinition] = []
        for element in objectElements {
            result.append(try object(element))
        }
        return result
    }

    /// The child elements of an element by name (the first of each name wins), built once per element.
    struct Fields {
        var byName: [String: LibXMLElement] = [:]

        init(_ element: LibXMLElement) {
            for child in element.children where byName[child.name] == nil {
                byName[child.name] = child
            }
        }
    }

    /// The trimmed text of the child named `name`, or `nil` when there is none.
    func field(_ name: String, in fields: Fields) -> (text: String, line: Int)? {
        guard let element = fields.byName[name] else { return nil }
        return (element.trimmedText, element.line)
    }

    func required(_ name: String, in fields: Fields, of parent: String, line: Int)
        throws(LwM2MDefinitionLoadingError) -> (text: String, line: Int)
    {
        guard let value = field(name, in: fields), !value.text.isEmpty else {
            throw fail(.missingElement, "\(parent) has no \(name)", line)
        }
        return value
    }

    func identifier(_ text: String, what: String, line: Int) throws(LwM2MDefinitionLoadingError) -> UInt16 {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let value = Int(text), value <= 65534
        else {
            throw fail(.invalidIdentifier, "\(what) \"\(text)\" is not a decimal identifier in 0...65534", line)
        }
        return UInt16(value)
    }

    func multiplicity(_ value: (text: String, line: Int), of what: String) throws(LwM2MDefinitionLoadingError) -> Bool {
        switch value.text.lowercased() {
        case "multiple": return true
        case "single": return false
        default:
            throw fail(.invalidValue, "\(what) MultipleInstances is \"\(value.text)\", expected Single or Multiple",
                       value.line)
        }
    }

    func mandatory(_ value: (text: String, line: Int), of what: String) throws(LwM2MDefinitionLoadingError) -> Bool {
        switch value.text.lowercased() {
        case "mandatory": return true
        case "optional": return false
        default:
            throw fail(.invalidValue, "\(what) Mandatory is \"\(value.text)\", expected Mandatory or Optional",
                       value.line)
        }
    }

    func version(_ value: (text: String, line: Int)?, what: String) throws(LwM2MDefinitionLoadingError) -> String {
        guard let value, !value.text.isEmpty else { return "1.0" }
        guard let v = LwM2MVersion(value.text) else {
            throw fail(.invalidValue, "\(what) \"\(value.text)\" is not a version like 1.1", value.line)
        }
        return v.description
    }

    func object(_ element: LibXMLElement) throws(LwM2MDefinitionLoadingError) -> LwM2MObjectDefinition {
        let fields = Fields(element)
        let idField = try required("ObjectID", in: fields, of: "<Object>", line: element.line)
        let id = try identifier(idField.text, what: "ObjectID", line: idField.line)
        let what = "object \(id)"
        let name = try required("Name", in: fields, of: what, line: element.line).text
        let isMultiple = try multiplicity(
            try required("MultipleInstances", in: fields, of: what, line: element.line), of: what)
        let isMandatory = try mandatory(try required("Mandatory", in: fields, of: what, line: element.line), of: what)
        let objectVersion = try version(field("ObjectVersion", in: fields), what: "\(what) ObjectVersion")
        let lwm2mVersion = try version(field("LWM2MVersion", in: fields), what: "\(what) LWM2MVersion")

        var resources: [LwM2MResourceDefinition] = []
        var seen: [UInt16: Int] = [:]
        if let container = fields.byName["Resources"] {
            for item in container.children where item.name == "Item" {
                let resource = try self.resource(item, object: id)
                if let first = seen[resource.id] {
                    throw fail(.duplicateResource,
                               "\(what) defines resource \(resource.id) twice (first on line \(first))", item.line)
                }
                seen[resource.id] = item.line
                resources.append(resource)
            }
        }
        return LwM2MObjectDefinition(
            id: id,
            name: name,
            description: field("Description1", in: fields)?.text ?? "",
            urn: field("ObjectURN", in: fields)?.text ?? "",
            objectVersion: objectVersion,
            lwm2mVersion: lwm2mVersion,
            isMultiple: isMultiple,
            isMandatory: isMandatory,
            resources: resources
        )
    }

    func resource(_ item: LibXMLElement, object: UInt16) throws(LwM2MDefinitionLoadingError) -> LwM2MResourceDefinition {
        guard let idText = item.attribute("ID") else {
            throw fail(.invalidIdentifier, "an Item of object \(object) has no ID attribute", item.line)
        }
        let id = try identifier(
            idText.trimmingCharacters(in: .whitespacesAndNewlines), what: "Item ID", line: item.line)
        let what = "resource \(object)/\(id)"
        let fields = Fields(item)
        let name = try required("Name", in: fields, of: what, line: item.line).text

        let operations: LwM2MOperations
        let opsField = field("Operations", in: fields)
        switch opsField?.text.uppercased() ?? "" {
        case "": operations = []
        case "R": operations = .read
        case "W": operations = .write
        case "RW", "WR": operations = .readWrite
        case "E": operations = .execute
        case "NONE": operations = []
        default:
            throw fail(.invalidValue, "\(what) Operations is \"\(opsField!.text)\", expected R, W, RW, E or empty",
                       opsField!.line)
        }

        let type: LwM2MResourceType
        let typeField = field("Type", in: fields)
        if let typeField, !typeField.text.isEmpty {
            guard let t = Self.resourceType(typeField.text) else {
                throw fail(.invalidValue, "\(what) Type \"\(typeField.text)\" is not an LwM2M data type",
                           typeField.line)
            }
            type = t
        } else {
            type = LwM2MResourceType.none
        }

        return LwM2MResourceDefinition(
            id: id,
            name: name,
            operations: operations,
            isMultiple: try multiplicity(try required("MultipleInstances", in: fields, of: what, line: item.line),
                                         of: what),
            isMandatory: try mandatory(try required("Mandatory", in: fields, of: what, line: item.line), of: what),
            type: type,
            rangeEnumeration: field("RangeEnumeration", in: fields)?.text ?? "",
            units: field("Units", in: fields)?.text ?? "",
            description: field("Description", in: fields)?.text ?? ""
        )
    }

    /// Maps DDF type names case-insensitively (`Objlnk`/`ObjLnk`, `Unsigned Integer`, `Corelnk`).
    static func resourceType(_ text: String) -> LwM2MResourceType? {
        switch text.lowercased() {
        case "string": return .string
        case "integer": return .integer
        case "unsigned integer": return .unsignedInteger
        case "float": return .float
        case "boolean": return .boolean
        case "opaque": return .opaque
        case "time": return .time
        case "objlnk": return .objectLink
        case "corelnk": return .coreLink
        case "none": return LwM2MResourceType.none
        default: return nil
        }
    }
}
