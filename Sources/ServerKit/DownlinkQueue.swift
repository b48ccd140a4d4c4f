import CoAPCore
public import NIOCore

/// Queue mode (Core TS 6.5): requests for a sleeping client wait here, bounded per client and each with a
/// time-to-live, until the client shows up (Register, Update or any message) and is awake again.
///
/// A sans-I/O component: the server stores whatever it needs to resume its caller as `Request` and asks the
/// queue what to send, what expired and what to fail. All operations are O(log n) in the number of queued
/// requests (plus the bounded per-client queue length).
public struct DownlinkQueue<Request: Sendable>: Sendable {
    /// Limits.
    public struct Configuration: Sendable {
        /// The most requests queued per client; more fail with `queueFull`.
        public var maxPerClient: Int = 16
        /// How long a queued request waits for the client before it fails with `timeout`.
        public var timeToLive: TimeAmount = .seconds(300)
        /// How long a client stays awake after it was last heard from (the specification's default is
        /// MAX_TRANSMIT_WAIT, 93 s).
        public var awakeTime: TimeAmount = .seconds(93)

        /// The defaults.
        public init() {}
    }

    /// Identifies one queued request.
    public struct Ticket: Hashable, Sendable {
        /// A number unique within the queue.
        public var id: UInt64
    }

    /// The settings.
    public var configuration: Configuration
    private var queues: [String: [(Ticket, Request)]] = [:]
    private var owners: [Ticket: String] = [:]
    private var deadlines = DeadlineHeap<Ticket>()
    private var awakeUntil: [String: NIODeadline] = [:]
    private var nextTicket: UInt64 = 0

    /// Creates an empty queue.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// The number of queued requests.
    public var count: Int { owners.count }

    /// The number of requests queued for `registrationID`.
    public func count(registrationID: String) -> Int { queues[registrationID]?.count ?? 0 }

    /// The earliest time-to-live deadline; call `expire(now:)` then.
    public var nextDeadline: NIODeadline? { deadlines.first?.deadline }

    /// Records that the client of `registrationID` was heard from at `now`: it is awake for `awakeTime`.
    /// Returns the requests to send now, oldest first.
    public mutating func clientSeen(registrationID: String, now: NIODeadline) -> [(Ticket, Request)] {
        awakeUntil[registrationID] = now + configuration.awakeTime
        guard let queued = queues.removeValue(forKey: registrationID) else { return [] }
        for (ticket, _) in queued {
            owners[ticket] = nil
            deadlines.cancel(ticket)
        }
        return queued
    }

    /// Whether the client of `registrationID` is awake at `now` (requests go straight out).
    public func isAwake(registrationID: String, now: NIODeadline) -> Bool {
        guard let until = awakeUntil[registrationID] else { return false }
        return now < until
    }

    /// Queues `request` for `registrationID`; fails with `queueFull` when the client's queue is full.
    public mutating func enqueue(_ request: Request, registrationID: String, now: NIODeadline)
        -> Result<Ticket, LwM2MServerError>
    {
        var queue = queues[registrationID] ?? []
        guard queue.count < configuration.maxPerClient else {
            return .failure(
                LwM2MServerError(
                    code: .queueFull, coapCode: .serviceUnavailable,
                    reason: "\(configuration.maxPerClient) requests already queued for the sleeping client"))
        }
        nextTicket += 1
        let ticket = Ticket(id: nextTicket)
        queue.append((ticket, request))
        queues[registrationID] = queue
        owners[ticket] = registrationID
        deadlines.schedule(ticket, at: now + configuration.timeToLive)
        return .success(ticket)
    }

    /// Removes and returns the requests whose time-to-live ended at `now`.
    public mutating func expire(now: NIODeadline) -> [(Ticket, Request)] {
        var out: [(Ticket, Request)] = []
        for ticket in deadlines.popExpired(now: now) {
            guard let owner = owners.removeValue(forKey: ticket), var queue = queues[owner],
                let index = queue.firstIndex(where: { $0.0 == ticket })
            else { continue }
            out.append(queue.remove(at: index))
            queues[owner] = queue.isEmpty ? nil : queue
        }
        return out
    }

    /// Removes and returns one queued request (its caller gave up).
    public mutating func remove(_ ticket: Ticket) -> Request? {
        guard let owner = owners.removeValue(forKey: ticket), var queue = queues[owner],
            let index = queue.firstIndex(where: { $0.0 == ticket })
        else { return nil }
        deadlines.cancel(ticket)
        let request = queue.remove(at: index).1
        queues[owner] = queue.isEmpty ? nil : queue
        return request
    }

    /// Removes and returns everything queued for `registrationID` (the registration ended) and forgets its
    /// awake state.
    public mutating func removeAll(registrationID: String) -> [(Ticket, Request)] {
        awakeUntil[registrationID] = nil
        guard let queued = queues.removeValue(forKey: registrationID) else { return [] }
        for (ticket, _) in queued {
            owners[ticket] = nil
            deadlines.cancel(ticket)
        }
        return queued
    }
}
