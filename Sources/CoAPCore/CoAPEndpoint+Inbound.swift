public import NIOCore

extension CoAPEndpoint {
    /// Sets the function called for every well-formed CoAP message that arrives from a peer (requests, responses,
    /// ACKs, RSTs, pings, duplicates; not datagrams that fail to parse), before the endpoint acts on it; `nil`
    /// removes it.
    ///
    /// It runs on the endpoint's actor for each datagram, so it must be quick and must not block: record the peer
    /// or hand it to your own task (e.g. an LwM2M server waking a queue-mode client that "shows up" with any
    /// message). Without a handler the endpoint does no extra work per message.
    public func onInboundMessage(_ handler: (@Sendable (_ peer: SocketAddress, _ identity: CoAPPeerIdentity?) -> Void)?) {
        inboundHandler = handler
    }

    /// Calls `handler` unless the message layer found the datagram malformed.
    func reportInbound(
        _ actions: [CoAPMessageLayerAction], _ datagram: CoAPDatagram,
        to handler: @Sendable (SocketAddress, CoAPPeerIdentity?) -> Void
    ) {
        for action in actions {
            if case .discarded(let discard) = action, discard.reason == .malformed { return }
        }
        handler(datagram.remote, datagram.peerIdentity)
    }

    /// Ends the `responses(for:to:)` stream (e.g. an observation) that holds `token` towards `peer` now and frees the
    /// token at once, so a request that must reuse it, such as an active Observe cancel (RFC 7641 section 3.6),
    /// can start right after this returns. Returns whether such an exchange existed.
    ///
    /// Ending the iteration of the stream frees the token too, but asynchronously (a later turn of the actor).
    @discardableResult
    public func endResponses(token: CoAPToken, peer: SocketAddress) -> Bool {
        guard let id = layer.exchange(token: token, peer: peer) else { return false }
        if waiters[id] != nil {
            cancel(id)  // finishes the stream and releases the token
        } else {
            perform(layer.cancel(id, now: clock.now), peerIdentity: nil)
            rescheduleTimer()
        }
        return true
    }
}
