import Codecs
import LwM2MModel

/// The one place where the client calls the codecs, the path parser and the attribute parser of the lower
/// targets, mapping their errors to the CoAP codes of the DM interface (4.00, 4.06, 4.15).
struct LwM2MClientPayloads: Sendable {
    let codec: LwM2MCodec

    init(definitions: any LwM2MDefinitionProvider) {
        self.codec = LwM2MCodec(definitions: definitions)
    }

    /// The LwM2M format for a Content-Format/Accept number; 4.15 (`forPayload`) or 4.06 when unknown.
    static func format(_ number: UInt16, forPayload: Bool) throws(LwM2MClientError) -> LwM2MContentFormat {
        guard let format = LwM2MContentFormat(number: number) else {
            throw LwM2MClientError(
                code: forPayload ? .unsupportedContentFormat : .notAcceptable, reason: "content format \(number)")
        }
        return format
    }

    /// The format a response uses when the server sent no Accept.
    static func defaultFormat(for node: LwM2MNode, version: LwM2MEnablerVersion) -> LwM2MContentFormat {
        switch node {
        case .resource(let r) where !r.isMultiple:
            if case .opaque = r.value { return .opaque }
            return .textPlain
        case .resourceInstance(let ri):
            if case .opaque = ri.value { return .opaque }
            return .textPlain
        default:
            return version == .v1_0 ? .tlv : .senmlJSON
        }
    }

    func encode(_ node: LwM2MNode, at path: LwM2MPath, as format: LwM2MContentFormat) throws(LwM2MClientError) -> [UInt8] {
        do {
            return try codec.encode(node, at: path, as: format)
        } catch {
            throw Self.map(error, forPayload: false)
        }
    }

    func decode(_ bytes: [UInt8], at path: LwM2MPath, as format: LwM2MContentFormat) throws(LwM2MClientError) -> LwM2MNode {
        do {
            return try codec.decode(bytes, at: path, as: format)
        } catch {
            throw Self.map(error, forPayload: true)
        }
    }

    func encode(records: [LwM2MRecord], as format: LwM2MContentFormat) throws(LwM2MClientError) -> [UInt8] {
        do {
            return try codec.encode(records: records, as: format)
        } catch {
            throw Self.map(error, forPayload: false)
        }
    }

    func decode(records bytes: [UInt8], as format: LwM2MContentFormat) throws(LwM2MClientError) -> [LwM2MRecord] {
        do {
            return try codec.decode(records: bytes, as: format)
        } catch {
            throw Self.map(error, forPayload: true)
        }
    }

    /// Parses Uri-Path segments into a path (4.00 when they are not an LwM2M path; 4.04 is the caller's).
    // TODO: use LwM2MModel's `LwM2MPath(segments:)` once the lwm2m-model branch lands on main.
    static func path(_ segments: [String]) throws(LwM2MClientError) -> LwM2MPath {
        guard segments.count <= 4 else { throw .badRequest("path too deep: /\(segments.joined(separator: "/"))") }
        var path = LwM2MPath.root
        for segment in segments {
            guard segment.utf8.count <= 5, segment.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let id = UInt16(segment), let next = path.appending(id)
            else { throw .badRequest("not an LwM2M path: /\(segments.joined(separator: "/"))") }
            path = next
        }
        return path
    }

    /// Parses a path typed by a user (`/3/0/1`).
    static func path(text: String) throws(LwM2MClientError) -> LwM2MPath {
        try path(text.split(separator: "/", omittingEmptySubsequences: true).map(String.init))
    }

    /// Parses Write-Attributes query items into the notification attributes (4.00 on a bad item). Returns
    /// the attributes set and the names cleared (`pmin` with no value).
    // TODO: use LwM2MModel's `LwM2MAttributes(queryItems:)` once the lwm2m-model branch lands on main.
    static func attributes(_ query: [String]) throws(LwM2MClientError) -> (set: LwM2MNotificationAttributes, cleared: Set<String>) {
        var set = LwM2MNotificationAttributes()
        var cleared: Set<String> = []
        var seen: Set<String> = []
        for item in query {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard seen.insert(name).inserted else { throw .badRequest("attribute \(name) given twice") }
            guard parts.count == 2 else {
                guard ["pmin", "pmax", "gt", "lt", "st", "epmin", "epmax"].contains(name) else {
                    throw .badRequest("unknown attribute \(name)")
                }
                cleared.insert(name)
                continue
            }
            let text = String(parts[1])
            switch name {
            case "pmin", "pmax", "epmin", "epmax":
                guard let v = UInt32(text) else { throw .badRequest("\(name) must be a non-negative integer") }
                if name == "pmin" { set.pmin = v } else if name == "pmax" { set.pmax = v }
            case "gt", "lt", "st":
                guard let v = Double(text), v.isFinite else { throw .badRequest("\(name) must be a number") }
                if name == "gt" { set.gt = v } else if name == "lt" { set.lt = v } else {
                    guard v >= 0 else { throw .badRequest("st must not be negative") }
                    set.st = v
                }
            default:
                throw .badRequest("unknown attribute \(name)")
            }
        }
        return (set, cleared)
    }

    private static func map(_ error: LwM2MCodecError, forPayload: Bool) -> LwM2MClientError {
        switch error.code {
        case .notAcceptable: return LwM2MClientError(code: .notAcceptable, reason: error.reason, path: error.path)
        case .unsupportedFormat:
            return LwM2MClientError(
                code: forPayload ? .unsupportedContentFormat : .notAcceptable, reason: error.reason, path: error.path)
        default: return LwM2MClientError(code: .badRequest, reason: error.description, path: error.path)
        }
    }
}
