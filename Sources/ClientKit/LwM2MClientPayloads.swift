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
    static func path(_ segments: [String]) throws(LwM2MClientError) -> LwM2MPath {
        do {
            return try LwM2MPath(segments: segments)
        } catch {
            throw .badRequest("not an LwM2M path: /\(segments.joined(separator: "/")) (\(error))")
        }
    }

    /// Parses a path typed by a user (`/3/0/1`).
    static func path(text: String) throws(LwM2MClientError) -> LwM2MPath {
        do {
            return try LwM2MPath(parsing: text)
        } catch {
            throw .badRequest("not an LwM2M path: \(text) (\(error))")
        }
    }

    /// Parses Write-Attributes query items into the notification attributes (4.00 on a bad item). Returns
    /// the attributes set and the names cleared (`pmin` with no value).
    static func attributes(_ query: [String]) throws(LwM2MClientError) -> (set: LwM2MNotificationAttributes, cleared: Set<String>) {
        let parsed: LwM2MAttributes
        do {
            parsed = try LwM2MAttributes(queryItems: query)
        } catch {
            throw .badRequest("bad attributes: \(error)")
        }
        let set = LwM2MNotificationAttributes(
            pmin: parsed.pmin, pmax: parsed.pmax, gt: parsed.gt, lt: parsed.lt, st: parsed.st, epmin: parsed.epmin,
            epmax: parsed.epmax)
        return (set, Set(parsed.cleared.map(\.rawValue)))
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
