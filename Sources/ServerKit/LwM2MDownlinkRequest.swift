public import CoAPCore
public import LwM2MModel
public import NIOCore

/// One downlink request as it goes on the wire (Core TS 1.1 section 6 and Transport TS 1.1 section 6: the
/// CoAP method, path, query and options of each operation), with its payload already encoded.
public struct LwM2MDownlinkRequest: Sendable {
    /// The operation.
    public enum Operation: Sendable, Hashable {
        /// Read: GET with an optional Accept.
        case read(LwM2MPath)
        /// Discover: GET with Accept: application/link-format.
        case discover(LwM2MPath)
        /// Write: PUT (replace) or POST (partial update) with a payload.
        case write(LwM2MPath, LwM2MWriteMode)
        /// Write-Attributes: PUT with the attributes as query items and no payload.
        case writeAttributes(LwM2MPath, [String])
        /// Execute: POST with the optional argument string as text payload.
        case execute(LwM2MPath, arguments: String?)
        /// Create: POST on the object with a payload.
        case create(objectID: UInt16)
        /// Delete: DELETE.
        case delete(LwM2MPath)
        /// Read-Composite: FETCH on the root with the SenML list of paths.
        case readComposite
        /// Write-Composite: iPATCH on the root with SenML records.
        case writeComposite
        /// Observe: GET with Observe = 0.
        case observe(LwM2MPath)
        /// Active cancel of an observation: GET with Observe = 1 (same token as the Observe).
        case cancelObserve(LwM2MPath)
        /// Observe-Composite: FETCH on the root with Observe = 0.
        case observeComposite
        /// Active cancel of a composite observation: FETCH with Observe = 1 (same token and payload).
        case cancelObserveComposite
    }

    /// The operation.
    public var operation: Operation
    /// The payload's content format (Write, Create, composite operations).
    public var contentFormat: CoAPContentFormat?
    /// The Accept option (Read, Observe, composite reads).
    public var accept: CoAPContentFormat?
    /// The encoded payload.
    public var payload: ByteBuffer

    /// Creates a request.
    public init(
        _ operation: Operation, contentFormat: CoAPContentFormat? = nil, accept: CoAPContentFormat? = nil,
        payload: ByteBuffer = ByteBuffer()
    ) {
        self.operation = operation
        self.contentFormat = contentFormat
        self.accept = accept
        self.payload = payload
    }

    /// The response code that means success for this operation.
    public var successCode: CoAPCode {
        switch operation {
        case .read, .discover, .readComposite, .observe, .cancelObserve, .observeComposite, .cancelObserveComposite:
            return .content
        case .write, .writeAttributes, .execute, .writeComposite: return .changed
        case .create: return .created
        case .delete: return .deleted
        }
    }

    /// The path the operation targets (the root for composite operations).
    public var path: LwM2MPath {
        switch operation {
        case .read(let p), .discover(let p), .write(let p, _), .writeAttributes(let p, _), .execute(let p, _),
            .delete(let p), .observe(let p), .cancelObserve(let p):
            return p
        case .create(let o): return .object(o)
        case .readComposite, .writeComposite, .observeComposite, .cancelObserveComposite: return .root
        }
    }

    /// The CoAP request for `registration`'s client (its alternate root path honoured). Type, message ID and
    /// token are left for the endpoint to fill in (CON, 0, empty) unless `token` is given.
    public func message(for registration: Registration, token: CoAPToken = .empty) -> CoAPMessage {
        let method: CoAPCode
        var observe: UInt32?
        var query: [String] = []
        var accept = self.accept
        switch operation {
        case .read: method = .get
        case .discover:
            method = .get
            accept = .linkFormat
        case .write(_, let mode): method = mode == .replace ? .put : .post
        case .writeAttributes(_, let attributes):
            method = .put
            query = attributes
        case .execute: method = .post
        case .create: method = .post
        case .delete: method = .delete
        case .readComposite: method = .fetch
        case .writeComposite: method = .iPatch
        case .observe:
            method = .get
            observe = 0
        case .cancelObserve:
            method = .get
            observe = 1
        case .observeComposite:
            method = .fetch
            observe = 0
        case .cancelObserveComposite:
            method = .fetch
            observe = 1
        }
        var m = CoAPMessage(type: .confirmable, code: method, messageID: 0, token: token, payload: payload)
        m.uriPath = registration.uriPath(for: path)
        if !query.isEmpty { m.uriQuery = query }
        if let observe { m.observe = observe }
        if let accept { m.accept = accept }
        if case .execute(_, let arguments) = operation {
            if let arguments, !arguments.isEmpty {
                m.payload = ByteBuffer(string: arguments)
                m.contentFormat = .textPlain
            }
        } else if let contentFormat, payload.readableBytes > 0 {
            m.contentFormat = contentFormat
        }
        return m
    }

    /// Checks a response: success returns it; an error code (or an unexpected success code) throws an
    /// `LwM2MServerError` carrying the client's code.
    public func check(_ response: CoAPMessage, endpoint: String) throws(LwM2MServerError) -> CoAPMessage {
        if response.code == successCode { return response }
        // Observe cancel and Write may legitimately answer with a neighbouring success code (e.g. 2.04 to a
        // partial update sent as POST, 2.05 with Observe removed); treat any 2.xx as success except for Create
        // and Delete, whose codes carry meaning.
        if response.code.isSuccess, successCode != .created, successCode != .deleted { return response }
        throw .errorResponse(response.code, endpoint: endpoint, path: path)
    }

    /// The path of a created instance from a 2.01 response's Location-Path (relative to the client's root
    /// path), or `fallback` when the client sent none.
    public static func createdPath(
        from response: CoAPMessage, registration: Registration, objectID: UInt16, fallback: UInt16?
    ) -> LwM2MPath? {
        var segments = response.locationPath
        let root = registration.rootPath.split(separator: "/").map(String.init)
        if !root.isEmpty, segments.starts(with: root) { segments.removeFirst(root.count) }
        if segments.count == 2, UInt16(segments[0]) == objectID, let i = UInt16(segments[1]), i != 0xFFFF {
            return .instance(objectID, i)
        }
        return fallback.map { .instance(objectID, $0) }
    }
}
