public import Codecs
public import CoAPCore
public import LwM2MModel
import NIOCore

/// One Bootstrap-Write the server performs: `node` written at `path` (an object or object instance path).
public struct LwM2MBootstrapWrite: Sendable, Hashable {
    /// The target path (`/0/1`, `/1/0`, `/2/3`, ...).
    public var path: LwM2MPath
    /// The content, an object instance for an instance path or an object for an object path.
    public var node: LwM2MNode

    /// Creates a write of `node` at `path`.
    public init(path: LwM2MPath, node: LwM2MNode) {
        self.path = path
        self.node = node
    }

    /// A write of one object instance at `/objectID/instance.id`.
    public static func instance(_ objectID: UInt16, _ instance: LwM2MObjectInstance) -> LwM2MBootstrapWrite {
        LwM2MBootstrapWrite(path: .instance(objectID, instance.id), node: .objectInstance(instance))
    }
}

/// What a bootstrap session does for one endpoint, in order: Discover (optional), Reads, Deletes, Writes, Finish.
public struct LwM2MBootstrapPlan: Sendable, Hashable {
    /// Whether to start with a Bootstrap-Discover of `/` (LwM2M 1.1).
    public var discover: Bool
    /// Paths to Bootstrap-Read (LwM2M 1.1; only the Server and Access Control objects may be read).
    public var readPaths: [LwM2MPath]
    /// Paths to Bootstrap-Delete (`/` deletes everything the client allows; the client keeps its
    /// bootstrap-server account). When Discover ran, a delete of the bootstrap-server account's Security
    /// instance is skipped.
    public var deletePaths: [LwM2MPath]
    /// The Bootstrap-Writes, in order.
    public var writes: [LwM2MBootstrapWrite]
    /// The content format to write with when the client did not state a preferred one (`pct`); TLV is the
    /// one every LwM2M 1.0/1.1 client supports.
    public var preferredFormat: LwM2MContentFormat?

    /// Creates a plan.
    public init(
        discover: Bool = false, readPaths: [LwM2MPath] = [], deletePaths: [LwM2MPath] = [],
        writes: [LwM2MBootstrapWrite] = [], preferredFormat: LwM2MContentFormat? = nil
    ) {
        self.discover = discover
        self.readPaths = readPaths
        self.deletePaths = deletePaths
        self.writes = writes
        self.preferredFormat = preferredFormat
    }
}

/// One step of a bootstrap session.
public enum LwM2MBootstrapStep: Sendable, Hashable, CustomStringConvertible {
    /// Bootstrap-Discover (`GET /`, Accept link-format).
    case discover
    /// Bootstrap-Read of a path.
    case read(LwM2MPath)
    /// Bootstrap-Delete of a path.
    case delete(LwM2MPath)
    /// Bootstrap-Write of a path.
    case write(LwM2MPath)
    /// Bootstrap-Finish (`POST /bs`).
    case finish

    /// A short text such as `write /0/1`.
    public var description: String {
        switch self {
        case .discover: return "discover /"
        case .read(let p): return "read \(p)"
        case .delete(let p): return "delete \(p)"
        case .write(let p): return "write \(p)"
        case .finish: return "finish"
        }
    }
}

/// A request the session wants sent to the client.
public struct LwM2MBootstrapRequest: Sendable, Hashable {
    /// The step it belongs to.
    public var step: LwM2MBootstrapStep
    /// The CoAP method.
    public var method: CoAPCode
    /// The Uri-Path segments (empty for `/`).
    public var uriPath: [String]
    /// The payload.
    public var payload: [UInt8]
    /// The Content-Format of the payload, if any.
    public var contentFormat: CoAPContentFormat?
    /// The Accept option, if any.
    public var accept: CoAPContentFormat?

    /// The CoAP request message (type CON; message ID and token are filled in by the endpoint).
    public var message: CoAPMessage {
        var m = CoAPMessage.request(method, path: uriPath.joined(separator: "/"))
        if !payload.isEmpty { m.payload.writeBytes(payload) }
        if let contentFormat { m.contentFormat = contentFormat }
        if let accept { m.accept = accept }
        return m
    }
}

/// What a successful session learned from the client.
public struct LwM2MBootstrapResult: Sendable, Hashable {
    /// The endpoint name.
    public var endpoint: String
    /// The Bootstrap-Discover answer, if Discover ran.
    public var discovered: String?
    /// The raw Bootstrap-Read answers with their content formats.
    public var reads: [LwM2MPath: LwM2MBootstrapReadResult]
    /// The steps that ran, in order.
    public var steps: [LwM2MBootstrapStep]
}

/// One Bootstrap-Read answer.
public struct LwM2MBootstrapReadResult: Sendable, Hashable {
    /// The Content-Format of the answer.
    public var contentFormat: CoAPContentFormat?
    /// The payload.
    public var payload: [UInt8]
}

/// The bootstrap session for one endpoint as a pure state machine: feed it the client's responses (or a
/// transport failure) and it tells what to send next, or that the session finished or failed.
///
/// The driver (`LwM2MBootstrapServer`) answers the client's `POST /bs?ep=..` with 2.04, calls `start()`,
/// sends each requested message and feeds the outcome back with `receive(code:contentFormat:payload:)` or
/// `transportFailed(_:)`.
public struct LwM2MBootstrapSession: Sendable {
    /// What the driver must do next.
    public enum Action: Sendable, Hashable {
        /// Send this request to the client and report its response.
        case send(LwM2MBootstrapRequest)
        /// The session finished successfully.
        case finished(LwM2MBootstrapResult)
        /// The session failed; nothing more is sent.
        case failed(LwM2MBootstrapError)
    }

    private enum State: Sendable {
        case idle
        case awaiting(LwM2MBootstrapRequest)
        case done
    }

    /// The client's endpoint name.
    public let endpoint: String
    /// The plan being executed.
    public let plan: LwM2MBootstrapPlan
    /// The content format used for Bootstrap-Write payloads.
    public let writeFormat: LwM2MContentFormat
    private let codec: LwM2MCodec
    private var state: State = .idle
    private var pending: [LwM2MBootstrapStep]
    private var result: LwM2MBootstrapResult

    /// Creates a session for `endpoint`. `clientPreferredFormat` is the client's `pct` (if it sent one);
    /// it wins over the plan's preferred format, and TLV is used when neither is set.
    public init(
        endpoint: String, plan: LwM2MBootstrapPlan, clientPreferredFormat: LwM2MContentFormat? = nil,
        codec: LwM2MCodec = LwM2MCodec(definitions: LwM2MRegistry.builtIn)
    ) {
        self.endpoint = endpoint
        self.plan = plan
        self.writeFormat = clientPreferredFormat ?? plan.preferredFormat ?? .tlv
        self.codec = codec
        var steps: [LwM2MBootstrapStep] = []
        if plan.discover { steps.append(.discover) }
        steps += plan.readPaths.map { .read($0) }
        steps += plan.deletePaths.map { .delete($0) }
        steps += plan.writes.map { .write($0.path) }
        steps.append(.finish)
        self.pending = steps
        self.result = LwM2MBootstrapResult(endpoint: endpoint, discovered: nil, reads: [:], steps: [])
    }

    /// Whether the session has finished or failed.
    public var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// The step awaiting a response, if any.
    public var currentStep: LwM2MBootstrapStep? {
        if case .awaiting(let request) = state { return request.step }
        return nil
    }

    /// Starts the session (after the client's Bootstrap-Request was answered with 2.04).
    public mutating func start() -> Action {
        guard case .idle = state else {
            return fail(.init(code: .protocolViolation, reason: "the session was already started", step: nil))
        }
        return next()
    }

    /// Feeds the client's response to the request in flight.
    public mutating func receive(code: CoAPCode, contentFormat: CoAPContentFormat? = nil, payload: [UInt8] = [])
        -> Action
    {
        guard case .awaiting(let request) = state else {
            return fail(.init(code: .protocolViolation, reason: "a response arrived with no request in flight", step: nil))
        }
        guard code.isSuccess else {
            let text = String(decoding: payload.prefix(200), as: UTF8.self)
            return fail(.errorResponse(code, step: request.step, diagnostic: text))
        }
        result.steps.append(request.step)
        switch request.step {
        case .discover:
            let text = String(decoding: payload, as: UTF8.self)
            result.discovered = text
            if let account = Self.bootstrapAccountInstance(in: text) {
                // Never delete the bootstrap-server account (Core TS 1.1 5.2.7.5): skip an explicit delete of it.
                pending.removeAll { $0 == .delete(.instance(0, account)) }
            }
        case .read(let path):
            result.reads[path] = LwM2MBootstrapReadResult(contentFormat: contentFormat, payload: payload)
        case .finish:
            state = .done
            return .finished(result)
        case .delete, .write:
            break
        }
        return next()
    }

    /// Reports that the request in flight got no usable response (timeout, reset, transport closed).
    public mutating func transportFailed(_ error: CoAPExchangeError) -> Action {
        let step = currentStep
        switch error.code {
        case .transmissionTimeout, .responseTimeout:
            return fail(.init(code: .timeout, reason: "no response from the client: \(error.reason)", step: step))
        default:
            return fail(.init(code: .transport, reason: error.description, step: step))
        }
    }

    private mutating func fail(_ error: LwM2MBootstrapError) -> Action {
        state = .done
        return .failed(error)
    }

    private mutating func next() -> Action {
        guard !pending.isEmpty else {
            return fail(.init(code: .protocolViolation, reason: "no step left", step: nil))
        }
        let step = pending.removeFirst()
        do throws(LwM2MBootstrapError) {
            let request = try makeRequest(step)
            state = .awaiting(request)
            return .send(request)
        } catch {
            return fail(error)
        }
    }

    private func makeRequest(_ step: LwM2MBootstrapStep) throws(LwM2MBootstrapError) -> LwM2MBootstrapRequest {
        switch step {
        case .discover:
            return LwM2MBootstrapRequest(
                step: step, method: .get, uriPath: [], payload: [], contentFormat: nil, accept: .linkFormat)
        case .read(let path):
            let accept = CoAPContentFormat(rawValue: writeFormat.rawValue)
            return LwM2MBootstrapRequest(
                step: step, method: .get, uriPath: Self.segments(path), payload: [], contentFormat: nil, accept: accept)
        case .delete(let path):
            return LwM2MBootstrapRequest(
                step: step, method: .delete, uriPath: Self.segments(path), payload: [], contentFormat: nil, accept: nil)
        case .write(let path):
            guard let write = plan.writes.first(where: { $0.path == path }) else {
                throw LwM2MBootstrapError(code: .encoding, reason: "no write planned for \(path)", step: step)
            }
            let bytes: [UInt8]
            do {
                bytes = try codec.encode(write.node, at: write.path, as: writeFormat)
            } catch {
                throw LwM2MBootstrapError(
                    code: .encoding, reason: "cannot encode \(path) as \(writeFormat): \(error)", step: step)
            }
            return LwM2MBootstrapRequest(
                step: step, method: .put, uriPath: Self.segments(path), payload: bytes,
                contentFormat: CoAPContentFormat(rawValue: writeFormat.rawValue), accept: nil)
        case .finish:
            return LwM2MBootstrapRequest(
                step: step, method: .post, uriPath: ["bs"], payload: [], contentFormat: nil, accept: nil)
        }
    }

    static func segments(_ path: LwM2MPath) -> [String] {
        (0..<path.depth).compactMap { path[$0] }.map { String($0) }
    }

    /// The Security instance of the bootstrap-server account in a Bootstrap-Discover answer: the `/0/x` link
    /// without an `ssid` attribute (Core TS 1.1 5.2.7.1).
    static func bootstrapAccountInstance(in linkFormat: String) -> UInt16? {
        for link in linkFormat.split(separator: ",") {
            let parts = link.split(separator: ";").map { $0.trimmingCharacters(in: " ") }
            guard let target = parts.first, target.hasPrefix("</0/"), target.hasSuffix(">") else { continue }
            let idText = target.dropFirst(4).dropLast()
            guard let id = UInt16(idText) else { continue }
            if !parts.dropFirst().contains(where: { $0.hasPrefix("ssid=") }) { return id }
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return s
    }
}
