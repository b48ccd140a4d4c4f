import CoAPCore
import LwM2MModel
import NIOCore

@testable import ServerKit

/// A scripted `LwM2MDownlinkOperations`: records every call and answers from `responses`.
actor FakeDownlink: LwM2MDownlinkOperations {
    var registered: [String: Registration] = [:]
    var calls: [String] = []
    var writes: [(LwM2MPath, LwM2MNode, LwM2MWriteMode)] = []
    var composite: [LwM2MRecord] = []
    var created: (UInt16, UInt16?, [LwM2MResource])?
    var formats: [CoAPContentFormat?] = []
    var attributes: [String] = []
    var executeArguments: String??
    var nodes: [LwM2MPath: LwM2MNode] = [:]
    var records: [LwM2MRecord] = []
    var failure: LwM2MServerError?
    var observed: [Observation] = []

    init(registrations: [Registration]) {
        for r in registrations { registered[r.endpoint] = r }
    }

    func setNode(_ node: LwM2MNode, at path: LwM2MPath) { nodes[path] = node }
    func setRecords(_ r: [LwM2MRecord]) { records = r }
    func fail(with error: LwM2MServerError?) { failure = error }

    private func check(_ call: String) throws(LwM2MServerError) {
        calls.append(call)
        if let failure { throw failure }
    }

    func registration(endpoint: String) async -> Registration? { registered[endpoint] }
    func registrations() async -> [Registration] { Array(registered.values) }

    func read(endpoint: String, path: LwM2MPath, format: CoAPContentFormat?) async throws(LwM2MServerError) -> LwM2MNode {
        try check("read \(endpoint) \(path)")
        formats.append(format)
        guard let node = nodes[path] else { throw .errorResponse(.notFound, endpoint: endpoint, path: path) }
        return node
    }

    func discover(endpoint: String, path: LwM2MPath) async throws(LwM2MServerError) -> String {
        try check("discover \(endpoint) \(path)")
        return "<\(path)>"
    }

    func write(endpoint: String, path: LwM2MPath, node: LwM2MNode, mode: LwM2MWriteMode, format: CoAPContentFormat?)
        async throws(LwM2MServerError)
    {
        try check("write \(endpoint) \(path)")
        writes.append((path, node, mode))
        formats.append(format)
    }

    func writeAttributes(endpoint: String, path: LwM2MPath, attributes: [String]) async throws(LwM2MServerError) {
        try check("writeAttributes \(endpoint) \(path)")
        self.attributes = attributes
    }

    func execute(endpoint: String, path: LwM2MPath, arguments: String?) async throws(LwM2MServerError) {
        try check("execute \(endpoint) \(path)")
        executeArguments = .some(arguments)
    }

    func create(endpoint: String, objectID: UInt16, instanceID: UInt16?, resources: [LwM2MResource], format: CoAPContentFormat?)
        async throws(LwM2MServerError) -> LwM2MPath
    {
        try check("create \(endpoint) /\(objectID)")
        created = (objectID, instanceID, resources)
        return .instance(objectID, instanceID ?? 7)
    }

    func delete(endpoint: String, path: LwM2MPath) async throws(LwM2MServerError) {
        try check("delete \(endpoint) \(path)")
    }

    func readComposite(endpoint: String, paths: [LwM2MPath], format: CoAPContentFormat?) async throws(LwM2MServerError)
        -> [LwM2MRecord]
    {
        try check("readComposite \(endpoint) \(paths.map(\.description).joined(separator: ","))")
        return records
    }

    func writeComposite(endpoint: String, records: [LwM2MRecord], format: CoAPContentFormat?) async throws(LwM2MServerError) {
        try check("writeComposite \(endpoint)")
        composite = records
    }

    func observe(endpoint: String, path: LwM2MPath, format: CoAPContentFormat?) async throws(LwM2MServerError)
        -> (Observation, LwM2MNode)
    {
        try check("observe \(endpoint) \(path)")
        let o = Observation(
            token: CoAPToken(value: UInt64(observed.count + 1), length: 4), registrationID: registered[endpoint]!.id,
            endpoint: endpoint, target: .path(path), createdAt: .uptimeNanoseconds(UInt64(observed.count)))
        observed.append(o)
        guard let node = nodes[path] else { throw .errorResponse(.notFound, endpoint: endpoint, path: path) }
        return (o, node)
    }

    func observeComposite(endpoint: String, paths: [LwM2MPath], format: CoAPContentFormat?) async throws(LwM2MServerError)
        -> (Observation, [LwM2MRecord])
    {
        try check("observeComposite \(endpoint)")
        let o = Observation(
            token: CoAPToken(value: UInt64(observed.count + 1), length: 4), registrationID: registered[endpoint]!.id,
            endpoint: endpoint, target: .composite(paths), createdAt: .uptimeNanoseconds(UInt64(observed.count)))
        observed.append(o)
        return (o, records)
    }

    func cancelObservation(endpoint: String, path: LwM2MPath, active: Bool) async throws(LwM2MServerError) -> Int {
        try check("cancel \(endpoint) \(path) \(active ? "active" : "passive")")
        let before = observed.count
        observed.removeAll { $0.target == .path(path) }
        return before - observed.count
    }

    func cancelCompositeObservation(endpoint: String, paths: [LwM2MPath], active: Bool) async throws(LwM2MServerError)
        -> Int
    {
        try check("cancelComposite \(endpoint)")
        let before = observed.count
        observed.removeAll { $0.target == .composite(paths) }
        return before - observed.count
    }

    func cancelAllObservations(endpoint: String) async throws(LwM2MServerError) -> Int {
        try check("cancelAll \(endpoint)")
        defer { observed.removeAll() }
        return observed.count
    }

    func observations(endpoint: String) async -> [Observation] { observed }
}

/// Definitions for objects 1, 3, 5 and 19 (the parts the tests use).
let testRegistry: LwM2MRegistry = {
    func r(_ id: UInt16, _ name: String, _ type: LwM2MResourceType, multiple: Bool = false, ops: LwM2MOperations = .readWrite)
        -> LwM2MResourceDefinition
    {
        LwM2MResourceDefinition(id: id, name: name, operations: ops, isMultiple: multiple, isMandatory: false, type: type)
    }
    return LwM2MRegistry([
        LwM2MObjectDefinition(
            id: 1, name: "LwM2M Server", objectVersion: "1.1", isMultiple: true, isMandatory: true,
            resources: [r(0, "Short Server ID", .integer), r(1, "Lifetime", .integer), r(2, "Default Minimum Period", .integer)]),
        LwM2MObjectDefinition(
            id: 3, name: "Device", isMultiple: false, isMandatory: true,
            resources: [
                r(0, "Manufacturer", .string), r(4, "Reboot", .none, ops: .execute), r(9, "Battery Level", .integer),
                r(11, "Error Code", .integer, multiple: true), r(13, "Current Time", .time), r(14, "UTC Offset", .string),
                r(15, "Timezone", .string), r(16, "Supported Binding and Modes", .string),
            ]),
        LwM2MObjectDefinition(
            id: 5, name: "Firmware Update", isMultiple: false, isMandatory: false,
            resources: [r(1, "Package URI", .string), r(2, "Update", .none, ops: .execute), r(3, "State", .integer)]),
        LwM2MObjectDefinition(
            id: 9, name: "Software Management", isMultiple: true, isMandatory: false,
            resources: [r(7, "State", .integer), r(4, "Install", .none, ops: .execute)]),
        LwM2MObjectDefinition(
            id: 19, name: "BinaryAppDataContainer", isMultiple: true, isMandatory: false,
            resources: [r(0, "Data", .opaque, multiple: true), r(1, "Data Priority", .integer)]),
    ])
}()

func testRegistration(_ endpoint: String = "dev1", objects: [RegisteredObject]? = nil) -> Registration {
    Registration(
        id: "reg-\(endpoint)", endpoint: endpoint, address: try! SocketAddress(ipAddress: "127.0.0.1", port: 5999),
        lifetime: 60, version: .v1_1,
        objects: objects ?? [
            RegisteredObject(id: 1, version: "1.1", instances: [0]), RegisteredObject(id: 3, instances: [0]),
            RegisteredObject(id: 19, instances: [0, 1]),
        ],
        links: [
            RegistrationLink(
                target: "/", attributes: [.init(name: "rt", value: "oma.lwm2m", isQuoted: true), .init(name: "ct", value: "110")]),
            RegistrationLink(target: "/1", attributes: [.init(name: "ver", value: "1.1")]),
            RegistrationLink(target: "/1/0"), RegistrationLink(target: "/3/0"),
        ],
        registeredAt: .uptimeNanoseconds(0), expiresAt: .uptimeNanoseconds(75_000_000_000))
}
