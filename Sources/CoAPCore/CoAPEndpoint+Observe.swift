public import NIOCore
import Logging
import Synchronization

// MARK: - Server role

extension CoAPEndpoint {
    /// Wraps the router so GET/FETCH with Observe = 0 registers an observer (when the handler answers with a
    /// success; the response then carries the first Observe value) and Observe = 1 deregisters it.
    func observing(_ next: @escaping CoAPResponder) -> CoAPResponder {
        { [self] request in
            let intent = CoAPObserverRegistry<SocketAddress, String>.intent(of: request.message)
            var response = try await next(request)
            switch intent {
            case .register:
                if response.code.isSuccess, let sequence = await addObserver(request) {
                    response.observe = sequence
                } else {
                    if response.code.isSuccess {
                        logger.info("CoAP observe registration refused; answering without Observe", metadata: [
                            "peer": "\(request.peer.hostAndPort)", "mid": "\(request.message.messageID)",
                            "path": "\(request.message.uriPathString)"])
                    }
                    response.observe = nil
                    await removeObserver(peer: request.peer, token: request.message.token)
                }
            case .deregister:
                response.observe = nil
                await removeObserver(peer: request.peer, token: request.message.token)
            case .none:
                response.observe = nil
            }
            return response
        }
    }

    private func addObserver(_ request: CoAPIncomingRequest) -> UInt32? {
        observers.register(request.message, from: request.peer, resource: request.message.uriPathString, now: clock.now)
    }

    private func removeObserver(peer: SocketAddress, token: CoAPToken) {
        observers.deregister(peer: peer, token: token)
    }

    /// The number of observers of the resource at `path` (e.g. `"/3/0/9"`).
    public func observerCount(of path: String) -> Int {
        observers.observers(of: Self.normalized(path)).count
    }

    /// Notifies every observer of the resource at `path` (e.g. `"/3/0/9"`) that it changed (RFC 7641 section
    /// 4.2): runs the resource's handler again with each observer's registration request and sends the result
    /// with the next Observe value, CON when `confirmable` or when the periodic rule asks for it, NON otherwise.
    /// Large representations go out as the first Block2 block; the client fetches the rest.
    ///
    /// An observer has at most one notification in flight: changes meanwhile collapse into one later
    /// notification of the newest state (RFC 7641 section 4.5.2). An observer is removed when it rejects a
    /// notification with RST, when a CON notification is never acknowledged, and when the handler answers with
    /// an error (sent as the final notification). Returns the number of notifications started now; they are
    /// sent in the background.
    @discardableResult
    public func notifyObservers(of path: String, confirmable: Bool = false) -> Int {
        let notifications = observers.notify(Self.normalized(path), now: clock.now, confirmable: confirmable)
        guard !notifications.isEmpty else { return 0 }
        let responder = makePipeline(serving: false)
        for notification in notifications {
            Task { await self.deliver(notification, responder: responder) }
        }
        return notifications.count
    }

    private static func normalized(_ path: String) -> String {
        "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    /// Sends `notification`, then whatever newer change came in while it was on its way (one in flight per
    /// observer, the newest state only).
    private func deliver(
        _ notification: CoAPObserverRegistry<SocketAddress, String>.Notification, responder: CoAPResponder
    ) async {
        var next: CoAPObserverRegistry<SocketAddress, String>.Notification? = notification
        while let current = next {
            await deliverOne(current, responder: responder)
            next = isClosed ? nil : observers.completed(current.key)
        }
    }

    private func deliverOne(
        _ notification: CoAPObserverRegistry<SocketAddress, String>.Notification, responder: CoAPResponder
    ) async {
        let key = notification.key
        let request = CoAPIncomingRequest(
            message: notification.request,
            exchange: CoAPInboundExchange(
                peer: key.peer, messageID: notification.request.messageID, token: key.token,
                type: notification.request.type))
        var response: CoAPMessage
        do {
            response = try await responder(request)
        } catch let error as CoAPError {
            logger.debug("CoAP notification handler answered with an error; ending the observation", metadata: [
                "peer": "\(key.peer.hostAndPort)", "token": "\(key.token)", "code": "\(error.responseCode)",
                "reason": "\(error.reason)"])
            response = .response(error.responseCode)
        } catch {
            logger.info("CoAP notification handler failed; ending the observation", metadata: [
                "peer": "\(key.peer.hostAndPort)", "token": "\(key.token)", "error": "\(error)"])
            response = .response(.internalServerError)
        }
        guard !isClosed, observers.observer(peer: key.peer, token: key.token) != nil else { return }
        if response.code.isSuccess {
            response.observe = notification.sequence
            response = blockwiseServer.slice(response, for: notification.request, to: key.peer, now: clock.now)
        } else {
            // An error ends the observation (RFC 7641 section 4.2).
            response.observe = nil
            observers.deregister(peer: key.peer, token: key.token)
        }
        response.token = key.token
        response.type = notification.type
        do {
            try await sendTracked(response, to: key.peer)
        } catch {
            logger.debug("CoAP observer removed", metadata: [
                "peer": "\(key.peer.hostAndPort)", "token": "\(key.token)", "error": "\(error)"])
            observers.deregister(peer: key.peer, token: key.token)
        }
    }

    /// Sends a response-coded message outside an exchange and waits for its fate: the ACK (CON) or the end of
    /// its NSTART slot (NON); throws `.reset` when the peer rejects it, `.transmissionTimeout` for a CON never
    /// acknowledged.
    func sendTracked(_ message: CoAPMessage, to peer: SocketAddress) async throws(CoAPExchangeError) {
        guard !isClosed else { throw .closed("the endpoint is closed") }
        let id = layer.makeExchangeID()
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, CoAPExchangeError>, Never>) in
            waiters[id] = .delivery(continuation)
            let (_, actions) = layer.send(message, to: peer, id: id, now: clock.now)
            perform(actions, peerIdentity: nil)
            rescheduleTimer()
        }
        try result.get()
    }
}

// MARK: - Client role

extension CoAPEndpoint {
    /// How many undelivered notifications an observation keeps for a slow consumer (the newest ones).
    public static let observationBuffer = 32

    /// Observes the resource `message` asks for (a GET or FETCH; Observe = 0 is set) at `peer` (RFC 7641).
    ///
    /// The observation yields the registration's response, then every fresh notification (stale and reordered
    /// ones are dropped by the 24-bit sequence + 128 s rule of section 3.4; Block2 notifications are fetched
    /// whole; a slow consumer gets the newest `observationBuffer` ones). It ends when the server ends it (an error or a response without Observe, which is yielded last),
    /// on `cancel()` (active: a GET with Observe = 1) or `cancelPassively()`/when the consumer stops iterating
    /// (passive: the next notification is answered with RST).
    public func observe(_ message: CoAPMessage, to peer: SocketAddress) -> CoAPObservation {
        var registration = message
        registration.observe = 0
        // A slow consumer sees the newest notifications: older ones are dropped past a small buffer.
        let (outer, outerContinuation) = AsyncThrowingStream<CoAPMessage, any Error>.makeStream(
            bufferingPolicy: .bufferingNewest(Self.observationBuffer))
        let control = CoAPObservation.Control(endpoint: self, peer: peer, registration: registration)
        guard !isClosed else {
            outerContinuation.finish(throwing: CoAPExchangeError.closed("the endpoint is closed"))
            return CoAPObservation(stream: outer, control: control)
        }
        let (inner, innerContinuation) = AsyncThrowingStream<CoAPMessage, any Error>.makeStream()
        let id = layer.makeExchangeID()
        control.exchange = id
        waiters[id] = .stream(innerContinuation)
        let (_, actions) = layer.startRequest(registration, to: peer, keepsTokenOpen: true, id: id, now: clock.now)
        perform(actions, peerIdentity: nil)
        rescheduleTimer()

        var base = registration
        base.observe = nil
        base.token = .empty
        let clock = self.clock
        let task = Task {
            var machine = CoAPObserveClientStateMachine(request: registration)
            do {
                for try await message in inner {
                    control.token = message.token
                    switch machine.receive(message, now: clock.now) {
                    case .deliver(let notification):
                        var whole = notification
                        if let block = try? notification.block2(), block.more {
                            whole = try await self.download(base, first: notification, to: peer, timeout: nil)
                        }
                        outerContinuation.yield(whole)
                    case .drop, .reset:
                        continue
                    case .finish(let last):
                        outerContinuation.yield(last)
                        outerContinuation.finish()
                        self.cancel(id)
                        return
                    }
                }
                outerContinuation.finish()
            } catch {
                outerContinuation.finish(throwing: error)
            }
        }
        control.task = task
        outerContinuation.onTermination = { _ in
            task.cancel()
            Task { await self.cancel(id) }
        }
        return CoAPObservation(stream: outer, control: control)
    }
}

/// An observation of a resource on a peer (RFC 7641): an `AsyncSequence` of the registration response and the
/// fresh notifications, which can be cancelled actively or passively.
public struct CoAPObservation: AsyncSequence, Sendable {
    /// Each element is the registration response or a notification (whole, even when sent block-wise).
    public typealias Element = CoAPMessage

    final class Control: Sendable {
        private struct State {
            var exchange: CoAPExchangeID?
            var token: CoAPToken?
            var task: Task<Void, Never>?
        }

        let endpoint: CoAPEndpoint
        let peer: SocketAddress
        let registration: CoAPMessage
        private let state = Mutex(State())

        init(endpoint: CoAPEndpoint, peer: SocketAddress, registration: CoAPMessage) {
            self.endpoint = endpoint
            self.peer = peer
            self.registration = registration
        }

        var exchange: CoAPExchangeID? {
            get { state.withLock { $0.exchange } }
            set { state.withLock { $0.exchange = newValue } }
        }
        var token: CoAPToken? {
            get { state.withLock { $0.token } }
            set { state.withLock { $0.token = newValue } }
        }
        var task: Task<Void, Never>? {
            get { state.withLock { $0.task } }
            set { state.withLock { $0.task = newValue } }
        }

        /// Ends the stream and forgets the token; returns the token when one was seen.
        func stop() async -> CoAPToken? {
            let (task, exchange, token) = state.withLock { ($0.task, $0.exchange, $0.token) }
            task?.cancel()
            if let exchange { await endpoint.cancel(exchange) }
            return token
        }
    }

    let stream: AsyncThrowingStream<CoAPMessage, any Error>
    let control: Control

    /// Iterates the notifications.
    public func makeAsyncIterator() -> AsyncThrowingStream<CoAPMessage, any Error>.Iterator {
        stream.makeAsyncIterator()
    }

    /// The token of the observation, once the registration response arrived.
    public var token: CoAPToken? { control.token }

    /// Cancels actively (RFC 7641 section 3.6): ends the sequence and sends a GET with Observe = 1 and the same
    /// token and options; returns the server's response (`nil` when no response to the registration arrived
    /// yet, in which case the cancel is passive).
    @discardableResult
    public func cancel() async throws(CoAPExchangeError) -> CoAPMessage? {
        guard let token = await control.stop() else { return nil }
        var deregistration = control.registration
        deregistration.observe = 1
        deregistration.token = token
        deregistration.removeOptions(.eTag)
        return try await control.endpoint.request(deregistration, to: control.peer)
    }

    /// Cancels passively (RFC 7641 section 3.6): ends the sequence and forgets the observation; the server
    /// removes the observer when its next notification is answered with RST.
    public func cancelPassively() async {
        _ = await control.stop()
    }
}
