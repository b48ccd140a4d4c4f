import BootstrapKit
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import Synchronization
import Testing


/// One request the scripted client received.
struct ReceivedRequest: Sendable, Equatable {
    var method: CoAPCode
    var path: String
    var contentFormat: CoAPContentFormat?
    var payload: [UInt8]
}

/// A scripted LwM2M client side: serves `/0`, `/1`, `/2` and `/bs` on a `CoAPEndpoint`, records every
/// request, and answers with the codes the test chooses (2.02 for DELETE and 2.04 for PUT/POST by default).
final class ScriptedClient: Sendable {
    let endpoint: CoAPEndpoint
    let received = Mutex<[ReceivedRequest]>([])
    /// Overrides per "METHOD /path", e.g. `"DELETE /1": .badRequest`.
    let answers: Mutex<[String: CoAPCode]>
    let finished: AsyncStream<Void>
    private let finishedSink: AsyncStream<Void>.Continuation
    /// When set, `/bs` (Bootstrap-Finish) never answers before this clock deadline.
    let stallFinish: (any CoAPClock)?

    init(endpoint: CoAPEndpoint, answers: [String: CoAPCode] = [:], stallFinish: (any CoAPClock)? = nil) {
        self.endpoint = endpoint
        self.answers = Mutex(answers)
        self.stallFinish = stallFinish
        (finished, finishedSink) = AsyncStream<Void>.makeStream()
    }

    func install() async {
        for object in ["0", "1", "2"] {
            await endpoint.register("/\(object)", matchesSubpaths: true) { [self] request in
                self.answer(request)
            }
        }
        await endpoint.register("/bs") { [self] request in
            let response = self.answer(request)
            if let clock = self.stallFinish {
                try await clock.sleep(until: clock.now + .seconds(3600))
            }
            self.finishedSink.yield()
            return response
        }
    }

    private func answer(_ request: CoAPIncomingRequest) -> CoAPMessage {
        let path = request.message.uriPathString
        let method = request.method
        received.withLock {
            $0.append(ReceivedRequest(
                method: method, path: path, contentFormat: request.message.contentFormat,
                payload: request.message.payloadBytes))
        }
        let name = [CoAPCode.delete: "DELETE", .put: "PUT", .post: "POST", .get: "GET"][method] ?? "?"
        let fallback: CoAPCode = method == .delete ? .deleted : .changed
        return .response(answers.withLock { $0["\(name) \(path)"] } ?? fallback)
    }

    var requests: [ReceivedRequest] { received.withLock { $0 } }
}

/// The first event of `events` for which `matches` holds (other events are skipped).
func firstEvent(
    _ events: AsyncStream<LwM2MBootstrapEvent>, where matches: @escaping @Sendable (LwM2MBootstrapEvent) -> Bool
) async -> LwM2MBootstrapEvent? {
    for await event in events where matches(event) { return event }
    return nil
}

extension LwM2MBootstrapEvent {
    var isTerminal: Bool {
        switch self {
        case .finished, .failed: return true
        case .started, .step: return false
        }
    }
}
