public import NIOCore

/// A request as a resource handler (and the middleware before it) sees it.
public struct CoAPIncomingRequest: Sendable {
    /// The well-formed request message.
    public var message: CoAPMessage
    /// The exchange to answer (peer, message ID, token, type); keep it to register an observer.
    public var exchange: CoAPInboundExchange
    /// The authenticated identity of the peer on a secure transport, `nil` on plain UDP.
    public var peerIdentity: CoAPPeerIdentity?

    /// Creates a request.
    public init(message: CoAPMessage, exchange: CoAPInboundExchange, peerIdentity: CoAPPeerIdentity? = nil) {
        self.message = message
        self.exchange = exchange
        self.peerIdentity = peerIdentity
    }

    /// The peer that sent the request.
    public var peer: SocketAddress { exchange.peer }
    /// The request method.
    public var method: CoAPCode { message.code }
    /// The Uri-Path segments.
    public var path: [String] { message.uriPath }
}

/// Something that answers a request: a resource handler, or the rest of the pipeline after a middleware.
/// The returned message's code, options and payload are used; type, message ID and token are set by the
/// endpoint. Throw a `CoAPError` to answer with an error code.
public typealias CoAPResponder = @Sendable (CoAPIncomingRequest) async throws -> CoAPMessage

/// A step in front of the resource handlers (e.g. Block1 reassembly and Block2 slicing, RFC 7959, or
/// observer registration, RFC 7641). Middlewares run in the order they were added; each decides whether
/// and how to call `next`.
public protocol CoAPServerMiddleware: Sendable {
    /// Answers `request`, usually by calling `next` with the same or a changed request and adapting the
    /// response.
    func respond(to request: CoAPIncomingRequest, next: CoAPResponder) async throws -> CoAPMessage
}

/// One link attribute of a resource in `/.well-known/core` (RFC 6690), e.g. `rt="temperature"` or `obs`.
public struct CoAPLinkAttribute: Sendable, Hashable {
    /// The attribute name (`rt`, `if`, `ct`, `sz`, `title`, `obs` ...).
    public var name: String
    /// The value, or `nil` for a flag such as `obs`.
    public var value: String?

    /// Creates an attribute.
    public init(_ name: String, _ value: String? = nil) {
        self.name = name
        self.value = value
    }

    /// The wire form: quoted unless the value is a number (e.g. `ct=40`).
    var linkFormat: String {
        guard let value else { return name }
        if !value.isEmpty && value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return "\(name)=\(value)" }
        var escaped = ""
        for c in value {
            if c == "\\" || c == "\"" { escaped.append("\\") }
            escaped.append(c)
        }
        return "\(name)=\"\(escaped)\""
    }
}

/// A resource registered on an endpoint: a path, how it shows in `/.well-known/core`, and its handler.
public struct CoAPResource: Sendable {
    /// The path segments, e.g. `["3", "0"]`.
    public var path: [String]
    /// Whether requests for paths below `path` also go to this handler (e.g. `/rd/<location>`).
    public var matchesSubpaths: Bool
    /// Link attributes listed in `/.well-known/core`.
    public var attributes: [CoAPLinkAttribute]
    /// Whether the resource is listed in `/.well-known/core`.
    public var isDiscoverable: Bool
    /// The handler.
    public var handler: CoAPResponder

    /// Creates a resource.
    public init(
        path: [String], matchesSubpaths: Bool = false, attributes: [CoAPLinkAttribute] = [],
        isDiscoverable: Bool = true, handler: @escaping CoAPResponder
    ) {
        self.path = path
        self.matchesSubpaths = matchesSubpaths
        self.attributes = attributes
        self.isDiscoverable = isDiscoverable
        self.handler = handler
    }
}

extension CoAPMessage {
    /// A response to hand back from a handler; type, message ID and token are filled in by the endpoint.
    public static func response(
        _ code: CoAPCode, payload: ByteBuffer = ByteBuffer(), contentFormat: CoAPContentFormat? = nil
    ) -> CoAPMessage {
        var m = CoAPMessage(type: .acknowledgement, code: code, messageID: 0, payload: payload)
        if let contentFormat { m.contentFormat = contentFormat }
        return m
    }

    /// A response with a UTF-8 text payload.
    public static func response(_ code: CoAPCode, text: String, contentFormat: CoAPContentFormat? = .textPlain) -> CoAPMessage {
        response(code, payload: ByteBuffer(string: text), contentFormat: contentFormat)
    }

    /// A request to build on; type (CON unless `confirmable` is false), message ID and token are filled in
    /// by the endpoint. `path` is split at `/`; `query` items become Uri-Query options.
    public static func request(
        _ method: CoAPCode, path: String, query: [String] = [], payload: ByteBuffer = ByteBuffer(),
        contentFormat: CoAPContentFormat? = nil, confirmable: Bool = true
    ) -> CoAPMessage {
        var m = CoAPMessage(type: confirmable ? .confirmable : .nonConfirmable, code: method, messageID: 0, payload: payload)
        m.uriPath = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if !query.isEmpty { m.uriQuery = query }
        if let contentFormat { m.contentFormat = contentFormat }
        return m
    }
}
