public import CoAPCore
public import NIOCore

/// Something that happened in a bootstrap session, as published by `LwM2MBootstrapServer.events`.
public enum LwM2MBootstrapEvent: Sendable, CustomStringConvertible {
    /// A client's Bootstrap-Request was accepted and its session started.
    case started(endpoint: String, peer: SocketAddress)
    /// A step completed; `responseCode` is the client's (successful) answer.
    case step(endpoint: String, step: LwM2MBootstrapStep, responseCode: CoAPCode)
    /// The session finished (the client acknowledged Bootstrap-Finish).
    case finished(LwM2MBootstrapResult)
    /// The session failed, or a Bootstrap-Request was refused (`endpoint` may be empty then).
    case failed(endpoint: String, error: LwM2MBootstrapError)

    /// The endpoint name the event is about.
    public var endpoint: String {
        switch self {
        case .started(let ep, _), .step(let ep, _, _), .failed(let ep, _): return ep
        case .finished(let result): return result.endpoint
        }
    }

    /// A one-line text for logs.
    public var description: String {
        switch self {
        case .started(let ep, let peer): return "bootstrap of \(ep) started from \(peer.hostAndPort)"
        case .step(let ep, let step, let code): return "bootstrap of \(ep): \(step) -> \(code)"
        case .finished(let result): return "bootstrap of \(result.endpoint) finished (\(result.steps.count) steps)"
        case .failed(let ep, let error): return "bootstrap of \(ep) failed: \(error)"
        }
    }
}
