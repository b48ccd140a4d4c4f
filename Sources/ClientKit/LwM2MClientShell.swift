import LwM2MModel
import Codecs

/// Zephyr's LwM2M shell commands over a client: one command line in, printed lines out. Used by
/// `lwm2m-client` on standard input and usable from any script or UI.
///
/// Commands: `read PATH [-x|-s|-b|-f|-t|-uX|-sX]`, `write PATH [OPTION] VALUE`, `exec PATH [ARGS]`,
/// `create PATH`, `delete PATH`, `send PATHS...`, `cache PATH N` (time series of N values; 0 stops), `update`, `start`, `stop`, `pause`, `resume`, `obs`,
/// `ls [PATH]`, `temp VALUE` (record a reading of the simulated sensor), `quit`.
public struct LwM2MClientShell: Sendable {
    /// The client commands act on.
    public let client: LwM2MClient
    /// The simulated temperature sensor, if any (`temp VALUE`).
    public let sensor: LwM2MTemperatureSensor?
    /// Where output lines go (standard output by default).
    public let output: @Sendable (String) -> Void

    /// Creates a shell.
    public init(client: LwM2MClient, sensor: LwM2MTemperatureSensor? = nil, output: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.client = client
        self.sensor = sensor
        self.output = output
    }

    /// Runs one command line; returns false for `quit`/`exit`.
    public func run(_ line: String) async -> Bool {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let command = words.first, !command.hasPrefix("#") else { return true }
        let args = Array(words.dropFirst())
        do {
            switch command {
            case "quit", "exit":
                return false
            case "read":
                let path = try parsePath(args.first)
                let node = try client.tree.read(path, checkReadable: false)
                for record in node.records(at: path) {
                    output("\(record.path) = \(record.value.map(Self.text) ?? "")")
                }
            case "write":
                let path = try parsePath(args.first)
                let valueWords = args.dropFirst().filter { !$0.hasPrefix("-") || Double($0) != nil }
                guard !valueWords.isEmpty else { throw LwM2MClientError.badRequest("usage: write PATH [OPTION] VALUE") }
                let text = valueWords.joined(separator: " ")
                let payloads = LwM2MClientPayloads(definitions: client.tree.definitions)
                guard let value = LwM2MClient.value(of: try payloads.decode(Array(text.utf8), at: path, as: .textPlain)) else {
                    throw LwM2MClientError.badRequest("write needs a resource path")
                }
                try client.tree.set(path, value)
                output("OK")
            case "exec":
                let path = try parsePath(args.first)
                try await client.tree.execute(path, arguments: args.dropFirst().joined(separator: " "))
                output("OK")
            case "create":
                let path = try parsePath(args.first)
                guard path.level == .objectInstance else { throw LwM2MClientError.badRequest("create needs /OBJECT/INSTANCE") }
                try client.tree.createInstance(path.objectID!, id: path.instanceID!)
                output("OK")
            case "delete":
                let path = try parsePath(args.first)
                guard path.level == .objectInstance else { throw LwM2MClientError.badRequest("delete needs /OBJECT/INSTANCE") }
                try client.tree.deleteInstance(path.objectID!, path.instanceID!)
                output("OK")
            case "send":
                let paths = try args.map { (a: String) throws -> LwM2MPath in try parsePath(a) }
                guard !paths.isEmpty else { throw LwM2MClientError.badRequest("usage: send PATHS") }
                let code = try await client.send(paths: paths)
                output("SEND \(code)")
            case "update": await client.triggerUpdate(); output("OK")
            case "start": await client.start(); output("OK")
            case "stop": await client.stop(); output("OK")
            case "pause": await client.pause(); output("OK")
            case "resume": await client.resume(); output("OK")
            case "obs":
                for o in await client.activeObservations {
                    output("\(o.path) token=\(o.token) pmin=\(o.attributes.pmin.map(String.init) ?? "-") pmax=\(o.attributes.pmax.map(String.init) ?? "-")")
                }
                output("OK")
            case "ls":
                let path = try args.first.map { try parsePath($0) } ?? .root
                list(path)
            case "temp":
                guard let sensor, let value = args.first.flatMap(Double.init) else {
                    throw LwM2MClientError.badRequest("usage: temp VALUE")
                }
                try sensor.record(value)
                output("OK")
            case "cache":
                guard args.count == 2, let count = Int(args[1]) else { throw LwM2MClientError.badRequest("usage: cache PATH N") }
                try client.tree.enableCache(try parsePath(args[0]), capacity: count)
                output("OK")
            default:
                output("ERROR unknown command \(command)")
            }
        } catch {
            output("ERROR \(error)")
        }
        return true
    }

    private func parsePath(_ text: String?) throws -> LwM2MPath {
        guard let text else { throw LwM2MClientError.badRequest("missing PATH") }
        return try LwM2MClientPayloads.path(text: text)
    }

    private func list(_ path: LwM2MPath) {
        let tree = client.tree
        switch path.level {
        case .root:
            for o in tree.objectIDs {
                output("/\(o) \(tree.definition(of: o)?.name ?? "") instances: \(tree.instanceIDs(of: o).map(String.init).joined(separator: " "))")
            }
        default:
            guard let node = try? tree.read(path, checkReadable: false) else {
                output("ERROR no \(path)")
                return
            }
            for record in node.records(at: path) { output("\(record.path)") }
        }
        output("OK")
    }

    /// The shell's text for a value.
    static func text(_ value: LwM2MValue) -> String {
        switch value {
        case .string(let s): return s
        case .integer(let v): return String(v)
        case .unsignedInteger(let v): return String(v)
        case .float(let v): return String(v)
        case .boolean(let b): return b ? "1" : "0"
        case .opaque(let bytes): return bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        case .time(let t): return String(t)
        case .objectLink(let l): return l.description
        case .coreLink(let s): return s
        }
    }
}
