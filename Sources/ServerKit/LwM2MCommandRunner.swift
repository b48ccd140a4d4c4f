public import LwM2MModel
import CoAPCore
import Codecs

/// Runs management commands against a server's downlink operations and formats the outcome as ThingsBoard-style
/// results. The console of `lwm2m-server` and the future REST API share it.
///
/// Parameters, by method (targets are `"id"` paths such as `"/3/0/9"` or `"/3_1.1/0/9"`, or `"key"` names):
/// - `Read`, `Discover`, `Observe`, `ObserveCancel`, `Delete`: `{"id": ...}` or `{"key": ...}`
/// - `WriteReplace`, `WriteUpdate`: target plus `"value"` in the JSON shape of the target level
/// - `WriteAttributes`: target plus `"attributes": {"pmin": 10, "pmax": 60, "gt": null}` (`null` unsets)
/// - `Execute`: target plus optional `"value"` (or `"args"`): the argument string
/// - `Create`: `{"id": "/19/1", "value": {"0": {"0": "00ac"}, "1": 1}}` (or `"/19"` to let the client choose)
/// - `ReadComposite`, `ObserveComposite`, `ObserveCompositeCancel`: `{"ids": [...]}` and/or `{"keys": [...]}`
/// - `WriteComposite`: `{"nodes": {"/3/0/14": "+04", "timezone": "Europe/Kiev"}}`
/// - `ObserveCancelAll`, `ObserveReadAll`, `DiscoverAll`: none
///
/// Result values follow ThingsBoard's LwM2M guide where it fixes them: the observation counts of `ObserveCancel`,
/// `ObserveCompositeCancel` and `ObserveCancelAll` are strings (`"1"`), and `ObserveReadAll` and `DiscoverAll` answer
/// with JSON text in a string (`"[\"/3/0/9\"]"`, `"[{\"url\":\"/\",\"attributes\":{...}}]"`). Read, Observe and
/// composite values are typed JSON (see the README's table of value shapes) instead of Leshan's `toString()` text.
/// Any command may add `"contentFormat"` (a number or a name like `"SENML_CBOR"`) to override the format.
public struct LwM2MCommandRunner: Sendable {
    /// The operations commands run on.
    public var operations: any LwM2MDownlinkOperations
    /// Object definitions for typing written values.
    public var definitions: LwM2MRegistry
    /// Friendly keys.
    public var keys: ResourceKeyMap

    /// Creates a runner; `keys` defaults to the registry's default keys.
    public init(operations: any LwM2MDownlinkOperations, definitions: LwM2MRegistry, keys: ResourceKeyMap? = nil) {
        self.operations = operations
        self.definitions = definitions
        self.keys = keys ?? ResourceKeyMap(registry: definitions)
    }

    /// Parses and runs `method` with JSON `params` text for `endpoint`.
    public func run(endpoint: String, method: String, params: String?) async -> LwM2MCommandResult {
        do {
            let command = try LwM2MCommand(method: method, params: params)
            return await run(endpoint: endpoint, command: command)
        } catch {
            return .failure(error, endpoint: endpoint, method: method)
        }
    }

    /// Runs `command` for `endpoint`.
    public func run(endpoint: String, command: LwM2MCommand) async -> LwM2MCommandResult {
        let method = command.method.rawValue
        do throws(LwM2MServerError) {
            guard let registration = await operations.registration(endpoint: endpoint) else {
                throw LwM2MServerError.notRegistered(endpoint)
            }
            let (code, value) = try await execute(command, registration: registration)
            return LwM2MCommandResult(endpoint: endpoint, method: method, result: code, value: value)
        } catch {
            return .failure(error, endpoint: endpoint, method: method)
        }
    }

    private func execute(_ command: LwM2MCommand, registration r: Registration) async throws(LwM2MServerError)
        -> (String, JSONValue?)
    {
        let ep = r.endpoint
        let params = command.params
        let format = try command.requestedContentFormat()
        switch command.method {
        case .read:
            let target = try self.target(params, r)
            let node = try await operations.read(endpoint: ep, path: target.path, format: format)
            return ("CONTENT", node.jsonValue)
        case .discover:
            let target = try self.target(params, r)
            return ("CONTENT", .string(try await operations.discover(endpoint: ep, path: target.path)))
        case .writeReplace, .writeUpdate:
            let target = try self.target(params, r)
            guard let json = params["value"] else { throw .invalidRequest("missing \"value\"") }
            guard target.path.depth >= 2 else { throw .invalidRequest("Write needs an instance or resource path") }
            let node = try LwM2MNode(
                json: json, at: target.path, definitions: definitions,
                objectVersion: target.objectVersion ?? r.objectVersion(target.path.objectID!))
            try await operations.write(
                endpoint: ep, path: target.path, node: node,
                mode: command.method == .writeReplace ? .replace : .partialUpdate, format: format)
            return ("CHANGED", nil)
        case .writeAttributes:
            let target = try self.target(params, r)
            guard case .object(let members)? = params["attributes"], !members.isEmpty else {
                throw .invalidRequest("missing \"attributes\" object")
            }
            var items: [String] = []
            for (name, value) in members {
                guard Self.writableAttributes.contains(name) else {
                    throw .invalidRequest("\(name) is not a writable attribute")
                }
                switch value {
                case .null: items.append(name)
                case .int(let i): items.append("\(name)=\(i)")
                case .uint(let u): items.append("\(name)=\(u)")
                case .double(let d) where d.isFinite: items.append("\(name)=\(d)")
                case .string(let s) where Double(s) != nil: items.append("\(name)=\(s)")
                default: throw .invalidRequest("attribute \(name) must be a number or null")
                }
            }
            try await operations.writeAttributes(endpoint: ep, path: target.path, attributes: items)
            return ("CHANGED", nil)
        case .execute:
            let target = try self.target(params, r)
            guard target.path.depth == 3 else { throw .invalidRequest("Execute needs a resource path") }
            var arguments: String?
            switch params["value"] ?? params["args"] {
            case nil, .null?: break
            case .string(let s)?: arguments = s
            case let other?: arguments = other.jsonText
            }
            try await operations.execute(endpoint: ep, path: target.path, arguments: arguments)
            return ("CHANGED", nil)
        case .create:
            let target = try self.target(params, r)
            guard (1...2).contains(target.path.depth), let objectID = target.path.objectID else {
                throw .invalidRequest("Create needs an object or object instance path")
            }
            let json = params["value"] ?? .object([])
            let instanceID = target.path.instanceID
            guard
                case .objectInstance(let instance) = try LwM2MNode(
                    json: json, at: .instance(objectID, instanceID ?? 0), definitions: definitions,
                    objectVersion: target.objectVersion ?? r.objectVersion(objectID))
            else { throw .invalidRequest("Create needs an object instance value") }
            let created = try await operations.create(
                endpoint: ep, objectID: objectID, instanceID: instanceID, resources: instance.resources, format: format)
            return ("CREATED", .string(created.description))
        case .delete:
            let target = try self.target(params, r)
            try await operations.delete(endpoint: ep, path: target.path)
            return ("DELETED", nil)
        case .readComposite:
            let paths = try self.targets(params, r)
            let records = try await operations.readComposite(endpoint: ep, paths: paths, format: format)
            return ("CONTENT", recordsJSON(records))
        case .writeComposite:
            guard case .object(let nodes)? = params["nodes"], !nodes.isEmpty else {
                throw .invalidRequest("missing \"nodes\" object")
            }
            var records: [LwM2MRecord] = []
            for (name, json) in nodes {
                let target = try resolve(name, r)
                guard target.path.depth >= 3 else {
                    throw .invalidRequest("\(name) is not a resource or resource instance path")
                }
                let node = try LwM2MNode(
                    json: json, at: target.path, definitions: definitions,
                    objectVersion: target.objectVersion ?? r.objectVersion(target.path.objectID!))
                records += node.records(at: target.path)
            }
            try await operations.writeComposite(endpoint: ep, records: records, format: format)
            return ("CHANGED", nil)
        case .observe:
            let target = try self.target(params, r)
            let (_, node) = try await operations.observe(endpoint: ep, path: target.path, format: format)
            return ("CONTENT", node.jsonValue)
        case .observeCancel:
            let target = try self.target(params, r)
            let active = params["active"].map { $0 == .bool(true) } ?? true
            let n = try await operations.cancelObservation(endpoint: ep, path: target.path, active: active)
            return ("CONTENT", .string("\(n)"))
        case .observeCancelAll:
            return ("CONTENT", .string("\(try await operations.cancelAllObservations(endpoint: ep))"))
        case .observeReadAll:
            let list = await operations.observations(endpoint: ep).map { o -> JSONValue in
                switch o.target {
                case .path(let p): return .string(p.description)
                case .composite(let ps): return .array(ps.map { .string($0.description) })
                }
            }
            return ("CONTENT", .string(JSONValue.array(list).jsonText))
        case .observeComposite:
            let paths = try self.targets(params, r)
            let (_, records) = try await operations.observeComposite(endpoint: ep, paths: paths, format: format)
            return ("CONTENT", recordsJSON(records))
        case .observeCompositeCancel:
            let paths = try self.targets(params, r)
            let active = params["active"].map { $0 == .bool(true) } ?? true
            let n = try await operations.cancelCompositeObservation(endpoint: ep, paths: paths, active: active)
            return ("CONTENT", .string("\(n)"))
        case .discoverAll:
            return ("CONTENT", .string(r.discoverAllJSON.jsonText))
        }
    }

    /// The NOTIFICATION-class attributes Write-Attributes may set (Core TS 1.1 5.1.2, 1.2 additions).
    static let writableAttributes: Set<String> = ["pmin", "pmax", "gt", "lt", "st", "epmin", "epmax", "edge", "con", "hqmax"]

    /// The single target of a command: `"id"` or `"key"`.
    private func target(_ params: JSONValue, _ r: Registration) throws(LwM2MServerError) -> LwM2MPathText {
        if let id = params["id"] {
            guard let text = id.stringValue else { throw .invalidRequest("\"id\" must be a string path") }
            return try resolve(text, r)
        }
        if let key = params["key"] {
            guard let text = key.stringValue else { throw .invalidRequest("\"key\" must be a string") }
            return try resolve(text, r)
        }
        throw .invalidRequest("missing \"id\" or \"key\"")
    }

    /// The targets of a composite command: `"ids"` and/or `"keys"`.
    private func targets(_ params: JSONValue, _ r: Registration) throws(LwM2MServerError) -> [LwM2MPath] {
        var out: [LwM2MPath] = []
        for member in ["ids", "keys"] {
            guard let list = params[member] else { continue }
            guard case .array(let items) = list else { throw .invalidRequest("\"\(member)\" must be an array") }
            for item in items {
                guard let text = item.stringValue else { throw .invalidRequest("\"\(member)\" must hold strings") }
                out.append(try resolve(text, r).path)
            }
        }
        guard !out.isEmpty else { throw .invalidRequest("missing \"ids\" or \"keys\"") }
        return out
    }

    /// A path (`/3/0/9`, `3/0/9`, `/3_1.1/0/9`) or a key.
    private func resolve(_ text: String, _ r: Registration) throws(LwM2MServerError) -> LwM2MPathText {
        if let first = text.first, first == "/" || first.isNumber {
            guard let parsed = LwM2MPathText(text) else { throw .invalidRequest("\(text) is not a valid LwM2M path") }
            return parsed
        }
        guard let path = keys.path(for: text, registration: r), let parsed = LwM2MPathText(path.description) else {
            throw LwM2MServerError(code: .invalidRequest, coapCode: .badRequest, reason: "unknown key \(text)")
        }
        return parsed
    }
}
