import LwM2MModel
import Codecs

/// Zephyr's LwM2M shell commands over a client: one command line in, printed lines out. Used by
/// `lwm2m-client` on standard input and usable from any script or UI.
///
/// Commands (Zephyr's `lwm2m` shell): `read PATH [-x|-s|-b|-uX|-sX|-f|-t]` (no option: the value's natural
/// text; `-x` hex of its bytes; `-b` 1/0; `-u8`...`-u64`/`-s8`...`-s64` the integer, refused when it does
/// not fit; `-f` float; `-t` time in seconds), `write PATH [-s|-b|-uX|-sX|-f|-t] VALUE` (the option says how
/// VALUE is parsed and range-checked, the tree then stores it with the resource's type; no option: VALUE is
/// read as text of the resource's type), `exec PATH [ARGS]`, `create PATH` and `delete PATH` (object instance
/// or resource instance), `send PATHS...`, `cache PATH NUM` (keep a time series of NUM values; 0 stops), `update`, `start [EP_NAME] [-b]`, `stop [-f]`
/// (`-f`: without De-register), `pause`, `resume`, `lock`/`unlock` (hold back notifications; one round
/// after `unlock`), `obs`, `ls [PATH]`, plus `temp VALUE` (record a reading of the simulated sensor) and
/// `quit`. Every command ends with a line `OK` or `ERROR reason`.
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
                let format = try args.count > 1 ? ReadFormat(option: args[1]) : .natural
                guard args.count <= 2 else { throw LwM2MClientError.badRequest("usage: read PATH [OPTION]") }
                let node = try client.tree.read(path, checkReadable: false)
                var lines: [String] = []
                for record in node.records(at: path) {
                    lines.append("\(record.path) = \(try record.value.map { try format.text($0, record.path) } ?? "")")
                }
                lines.forEach(output)
            case "write":
                let path = try parsePath(args.first)
                var valueWords = args.dropFirst()
                var format: ReadFormat?
                if let option = valueWords.first, option.hasPrefix("-"), let f = try? ReadFormat(option: option),
                   f != .hex, valueWords.count > 1 {
                    format = f
                    valueWords = valueWords.dropFirst()
                }
                guard !valueWords.isEmpty else { throw LwM2MClientError.badRequest("usage: write PATH [OPTION] VALUE") }
                let text = valueWords.joined(separator: " ")
                let value: LwM2MValue
                if let format {
                    value = try format.parse(text, path)
                } else {
                    let payloads = LwM2MClientPayloads(definitions: client.tree.definitions)
                    guard let v = LwM2MClient.value(of: try payloads.decode(Array(text.utf8), at: path, as: .textPlain)) else {
                        throw LwM2MClientError.badRequest("write needs a resource path")
                    }
                    value = v
                }
                try client.tree.set(path, value)
                output("OK")
            case "exec":
                let path = try parsePath(args.first)
                try await client.tree.execute(path, arguments: args.dropFirst().joined(separator: " "))
                output("OK")
            case "create":
                let path = try parsePath(args.first)
                switch path.level {
                case .objectInstance:
                    try client.tree.createInstance(path.objectID!, id: path.instanceID!)
                case .resourceInstance:
                    try createResourceInstance(path)
                default:
                    throw LwM2MClientError.badRequest("create needs /OBJECT/INSTANCE or /OBJECT/INSTANCE/RESOURCE/INSTANCE")
                }
                output("OK")
            case "delete":
                let path = try parsePath(args.first)
                switch path.level {
                case .objectInstance:
                    try client.tree.deleteInstance(path.objectID!, path.instanceID!)
                case .resourceInstance:
                    try deleteResourceInstance(path)
                default:
                    throw LwM2MClientError.badRequest("delete needs /OBJECT/INSTANCE or /OBJECT/INSTANCE/RESOURCE/INSTANCE")
                }
                output("OK")
            case "send":
                let paths = try args.map { (a: String) throws -> LwM2MPath in try parsePath(a) }
                guard !paths.isEmpty else { throw LwM2MClientError.badRequest("usage: send PATHS") }
                let code = try await client.send(paths: paths)
                output("SEND \(code)")
            case "update": await client.triggerUpdate(); output("OK")
            case "start":
                // Zephyr: start EP_NAME [-b]. The endpoint name and bootstrap are fixed by the configuration here.
                let name = client.configuration.registration.endpointName
                if let requested = args.first(where: { !$0.hasPrefix("-") }), requested != name {
                    throw LwM2MClientError.badRequest("the endpoint name is \(name) (set by the configuration)")
                }
                if args.contains("-b") {
                    throw LwM2MClientError.badRequest("bootstrap is chosen by the configuration (a bootstrap account)")
                }
                await client.start()
                output("OK")
            case "stop":
                guard args.allSatisfy({ $0 == "-f" }) else { throw LwM2MClientError.badRequest("usage: stop [-f]") }
                await client.stop(force: args.contains("-f"))
                output("OK")
            case "lock":
                client.tree.holdNotifications()
                output("OK")
            case "unlock":
                guard client.tree.releaseNotifications() else { throw LwM2MClientError.badRequest("not locked") }
                output("OK")
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

    private func createResourceInstance(_ path: LwM2MPath) throws {
        let tree = client.tree
        let resource = path.parent!
        guard tree.contains(resource.parent!), let rd = tree.definition(of: path.objectID!)?.resource(path.resourceID!) else {
            throw LwM2MClientError.notFound(path)
        }
        guard rd.isMultiple else { throw LwM2MClientError.badRequest("\(resource) is a single-instance resource", path) }
        guard !tree.contains(path) else { throw LwM2MClientError.badRequest("\(path) exists", path) }
        try tree.set(path, Self.initialValue(rd.type))
    }

    private func deleteResourceInstance(_ path: LwM2MPath) throws {
        let tree = client.tree
        guard tree.contains(path), let resource = path.parent else { throw LwM2MClientError.notFound(path) }
        guard case .resource(let r) = try tree.read(resource, checkReadable: false), case .multiple(let instances) = r.content else {
            throw LwM2MClientError.notFound(path)
        }
        var values: [UInt16: LwM2MValue] = [:]
        for instance in instances where instance.id != path.resourceInstanceID { values[instance.id] = instance.value }
        try tree.setInstances(resource, values)
    }

    /// The value a new resource instance starts with (Zephyr creates it empty).
    static func initialValue(_ type: LwM2MResourceType) -> LwM2MValue {
        switch type {
        case .string: .string("")
        case .integer: .integer(0)
        case .unsignedInteger: .unsignedInteger(0)
        case .float: .float(0)
        case .boolean: .boolean(false)
        case .time: .time(0)
        case .objectLink: .objectLink(LwM2MObjectLink(objectID: 65_535, instanceID: 65_535))
        case .coreLink: .coreLink("")
        case .opaque, .none: .opaque([])
        }
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

/// How `read` prints a value and how `write` parses one (Zephyr's `-x`, `-s`, `-b`, `-uX`, `-sX`, `-f`, `-t`).
enum ReadFormat: Equatable, Sendable {
    case natural, hex, string, bool, float, time
    case unsigned(bits: Int)
    case signed(bits: Int)

    init(option: String) throws(LwM2MClientError) {
        switch option {
        case "-x": self = .hex
        case "-s": self = .string
        case "-b": self = .bool
        case "-f": self = .float
        case "-t": self = .time
        case "-u8", "-u16", "-u32", "-u64": self = .unsigned(bits: Int(option.dropFirst(2))!)
        case "-s8", "-s16", "-s32", "-s64": self = .signed(bits: Int(option.dropFirst(2))!)
        default: throw .badRequest("unknown option \(option)")
        }
    }

    var name: String {
        switch self {
        case .natural: ""
        case .hex: "hex"
        case .string: "string"
        case .bool: "bool"
        case .float: "float"
        case .time: "time"
        case .unsigned(let bits): "u\(bits)"
        case .signed(let bits): "s\(bits)"
        }
    }

    /// The value as an exact integer (booleans as 0/1), if it is one.
    private static func integer(_ value: LwM2MValue) -> (negative: Bool, magnitude: UInt64)? {
        switch value {
        case .integer(let v), .time(let v): (v < 0, v.magnitude)
        case .unsignedInteger(let v): (false, v)
        case .boolean(let b): (false, b ? 1 : 0)
        case .float(let d) where d.rounded() == d && abs(d) < 0x1p63: (d < 0, Int64(d).magnitude)
        default: nil
        }
    }

    /// The value's bytes for `-x`: strings and links as UTF-8, numbers big-endian in 8 bytes, booleans in one,
    /// object links as object and instance ID in 2 bytes each.
    private static func bytes(_ value: LwM2MValue) -> [UInt8] {
        func be(_ v: UInt64) -> [UInt8] { (0..<8).reversed().map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
        switch value {
        case .opaque(let b): return b
        case .string(let s), .coreLink(let s): return Array(s.utf8)
        case .integer(let v), .time(let v): return be(UInt64(bitPattern: v))
        case .unsignedInteger(let v): return be(v)
        case .float(let d): return be(d.bitPattern)
        case .boolean(let b): return [b ? 1 : 0]
        case .objectLink(let l):
            return [UInt8(l.objectID >> 8), UInt8(l.objectID & 0xFF), UInt8(l.instanceID >> 8), UInt8(l.instanceID & 0xFF)]
        }
    }

    /// The text `read` prints for `value` at `path`.
    func text(_ value: LwM2MValue, _ path: LwM2MPath) throws(LwM2MClientError) -> String {
        func refuse() -> LwM2MClientError { .badRequest("\(value.type.rawValue) value cannot be read as \(name)", path) }
        switch self {
        case .natural, .string:
            return LwM2MClientShell.text(value)
        case .hex:
            return Self.bytes(value).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        case .bool:
            guard let (negative, magnitude) = Self.integer(value), !negative, magnitude <= 1 else { throw refuse() }
            return magnitude == 1 ? "1" : "0"
        case .unsigned(let bits):
            guard let (negative, magnitude) = Self.integer(value), !negative || magnitude == 0,
                  bits == 64 || magnitude < UInt64(1) << bits else { throw refuse() }
            return String(magnitude)
        case .signed(let bits):
            guard let (negative, magnitude) = Self.integer(value),
                  magnitude <= (UInt64(1) << (bits - 1)) - (negative ? 0 : 1) else { throw refuse() }
            return (negative && magnitude > 0 ? "-" : "") + String(magnitude)
        case .float:
            switch value {
            case .float(let d): return String(d)
            case .integer(let v), .time(let v): return String(Double(v))
            case .unsignedInteger(let v): return String(Double(v))
            default: throw refuse()
            }
        case .time:
            switch value {
            case .time(let v), .integer(let v): return String(v)
            case .unsignedInteger(let v): return String(v)
            default: throw refuse()
            }
        }
    }

    /// `text` parsed as this format's type (range-checked), for `write`.
    func parse(_ text: String, _ path: LwM2MPath) throws(LwM2MClientError) -> LwM2MValue {
        let refuse = LwM2MClientError.badRequest("\(text) is not a valid \(name) value", path)
        switch self {
        case .natural, .string, .hex:
            return .string(text)
        case .bool:
            switch text.lowercased() {
            case "1", "true": return .boolean(true)
            case "0", "false": return .boolean(false)
            default: throw refuse
            }
        case .unsigned(let bits):
            guard let v = UInt64(text), bits == 64 || v < UInt64(1) << bits else { throw refuse }
            return Int64(exactly: v).map { .integer($0) } ?? .unsignedInteger(v)
        case .signed(let bits):
            guard let v = Int64(text), bits == 64 || (-(Int64(1) << (bits - 1)) ..< (Int64(1) << (bits - 1))).contains(v)
            else { throw refuse }
            return .integer(v)
        case .float:
            guard let d = Double(text), d.isFinite else { throw refuse }
            return .float(d)
        case .time:
            guard let v = Int64(text) else { throw refuse }
            return .time(v)
        }
    }
}
