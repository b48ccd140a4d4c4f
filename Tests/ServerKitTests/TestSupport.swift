import CoAPCore
import Logging
import NIOCore
import Synchronization

@testable import ServerKit

/// Captures log lines in memory.
final class CapturedLogs: Sendable {
    let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func logger() -> Logger {
        var logger = Logger(label: "test") { _ in CapturingLogHandler(sink: self) }
        logger.logLevel = .debug
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        sink.lines.withLock { $0.append("\(event.level) \(event.message)") }
    }
}

func address(_ host: String = "10.0.0.1", port: Int = 40000) -> SocketAddress {
    try! SocketAddress(ipAddress: host, port: port)
}

/// A request as a client would send it.
func request(
    _ code: CoAPCode,
    _ path: [String],
    query: [String] = [],
    payload: String? = nil,
    contentFormat: CoAPContentFormat? = .linkFormat,
    type: CoAPMessageType = .confirmable,
    mid: UInt16 = 1,
    token: UInt64 = 0xA1B2
) -> CoAPMessage {
    var m = CoAPMessage(type: type, code: code, messageID: mid, token: CoAPToken(value: token, length: 2))
    m.uriPath = path
    m.uriQuery = query
    if let payload {
        m.payload = ByteBuffer(string: payload)
        m.contentFormat = contentFormat
    }
    return m
}

let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

typealias Machine = RegistrationStateMachine<InMemoryRegistrationStore, InMemoryObservationStore>

func machine(_ configure: (inout RegistrationConfiguration) -> Void = { _ in }, logs: CapturedLogs = CapturedLogs())
    -> Machine
{
    var c = RegistrationConfiguration()
    configure(&c)
    return Machine(configuration: c, logger: logs.logger())
}

extension RegistrationOutput {
    var code: CoAPCode? { response?.code }
    var registered: Registration? {
        for e in events { if case .registered(let r, _) = e { return r } }
        return nil
    }
}
