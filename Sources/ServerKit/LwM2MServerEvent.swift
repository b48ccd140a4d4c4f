public import CoAPCore
public import LwM2MModel
public import NIOCore

/// Something that happened on the server, in one stream for applications (and the console's event lines).
public enum LwM2MServerEvent: Sendable {
    /// A client registered; `replaced` is its previous registration when it registered again.
    case registered(Registration, replaced: Registration?)
    /// A client updated its registration.
    case updated(RegistrationUpdate)
    /// A client de-registered.
    case deregistered(Registration)
    /// A registration's lifetime ran out.
    case expired(Registration)
    /// A notification of an observation arrived.
    case notification(LwM2MNotification)
    /// A client sent data with the Send operation (`POST /dp`).
    case send(LwM2MSendReport)

    /// The endpoint name the event is about.
    public var endpoint: String {
        switch self {
        case .registered(let r, _), .deregistered(let r), .expired(let r): return r.endpoint
        case .updated(let u): return u.current.endpoint
        case .notification(let n): return n.observation.endpoint
        case .send(let s): return s.endpoint
        }
    }
}

/// A registration before and after an Update.
public struct RegistrationUpdate: Sendable {
    /// The registration before the Update.
    public var previous: Registration
    /// The registration after the Update.
    public var current: Registration

    /// Creates an update.
    public init(previous: Registration, current: Registration) {
        self.previous = previous
        self.current = current
    }
}

/// What an observation or a Send carries: a node at a path, or timestamped records (composite, time series).
public enum LwM2MReportedContent: Hashable, Sendable {
    /// One node at its path (Observe of an object, instance, resource or resource instance).
    case node(LwM2MPath, LwM2MNode)
    /// Records at full paths (Observe-Composite, Send, or time series in SenML/LwM2M JSON).
    case records([LwM2MRecord])
}

/// One notification of an observation, decoded and typed.
public struct LwM2MNotification: Sendable {
    /// The observation it belongs to.
    public var observation: Observation
    /// The Observe option's sequence number.
    public var sequence: UInt32?
    /// The content format it was encoded in.
    public var contentFormat: CoAPContentFormat?
    /// The values.
    public var content: LwM2MReportedContent
    /// When the server received it.
    public var receivedAt: NIODeadline

    /// Creates a notification.
    public init(
        observation: Observation,
        sequence: UInt32?,
        contentFormat: CoAPContentFormat?,
        content: LwM2MReportedContent,
        receivedAt: NIODeadline
    ) {
        self.observation = observation
        self.sequence = sequence
        self.contentFormat = contentFormat
        self.content = content
        self.receivedAt = receivedAt
    }
}

/// Data a client pushed with Send (`POST /dp`).
public struct LwM2MSendReport: Sendable {
    /// The client's endpoint name.
    public var endpoint: String
    /// Its registration ID.
    public var registrationID: String
    /// The content format it used.
    public var contentFormat: CoAPContentFormat
    /// The records, with their timestamps when the client gave them.
    public var records: [LwM2MRecord]
    /// When the server received it.
    public var receivedAt: NIODeadline

    /// Creates a report.
    public init(
        endpoint: String,
        registrationID: String,
        contentFormat: CoAPContentFormat,
        records: [LwM2MRecord],
        receivedAt: NIODeadline
    ) {
        self.endpoint = endpoint
        self.registrationID = registrationID
        self.contentFormat = contentFormat
        self.records = records
        self.receivedAt = receivedAt
    }
}
