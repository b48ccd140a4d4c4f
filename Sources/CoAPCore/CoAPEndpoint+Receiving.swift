import Synchronization

extension CoAPEndpoint {
    /// Turns receiving off (`false`) or back on: while off, every inbound datagram (requests, responses,
    /// acknowledgements) is dropped unread, as if the radio were off; sending still works. An LwM2M client in
    /// queue mode turns receiving off after its awake window and on again before it sends (Core TS 6.5).
    /// Callable from any context; it applies to the next datagram the endpoint takes from its transport.
    public nonisolated func setReceiving(_ on: Bool) {
        receiveSwitch.store(on, ordering: .releasing)
    }

    /// Whether the endpoint processes inbound datagrams (true unless `setReceiving(false)` was called).
    public nonisolated var isReceiving: Bool { receiveSwitch.load(ordering: .acquiring) }
}
