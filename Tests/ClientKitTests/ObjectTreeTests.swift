import LwM2MModel
import Synchronization
import Testing

@testable import ClientKit

/// Collects change-listener calls.
final class ChangeRecorder: Sendable {
    let calls = Mutex<[Set<LwM2MPath>]>([])
    func record(_ paths: Set<LwM2MPath>) { calls.withLock { $0.append(paths) } }
    var all: [Set<LwM2MPath>] { calls.withLock { $0 } }
}

@Suite("Object tree")
struct ObjectTreeTests {
    func makeTree() throws -> LwM2MObjectTree {
        let tree = LwM2MObjectTree(definitions: TestDefinitions.registry)
        try LwM2MStandardObjects.installSecurity(in: tree, serverURI: "coap://127.0.0.1:5683", shortServerID: 1)
        try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: 300)
        try LwM2MStandardObjects.installDevice(in: tree)
        return tree
    }

    @Test("Read of a resource, an instance (readable resources only) and a missing path")
    func read() throws {
        let tree = try makeTree()
        #expect(try tree.read(.resource(3, 0, 0)) == .resource(.single(0, .string("swift-lwm2m"))))
        guard case .objectInstance(let device) = try tree.read(.instance(3, 0)) else { Issue.record("no instance"); return }
        #expect(device[resource: 4] == nil)  // Reboot is executable, not readable
        #expect(device[resource: 6] == .multiple(6, [0: .integer(1), 1: .integer(5)]))
        #expect(throws: LwM2MClientError.notFound(.root)) { try tree.read(.resource(3, 0, 7)) }
        #expect(throws: LwM2MClientError.notFound(.root)) { try tree.read(.instance(3, 1)) }
        #expect(throws: LwM2MClientError.methodNotAllowed("")) { try tree.read(.resource(3, 0, 4)) }
        // Security is not readable by a server.
        guard case .objectInstance(let security) = try tree.read(.instance(0, 0)) else { return }
        #expect(security.resources.isEmpty)
    }

    @Test("Server writes: type conversion, operation check, validation, replace vs partial update")
    func write() throws {
        let tree = try makeTree()
        try tree.write(.resource(.single(1, .unsignedInteger(600))), at: .resource(1, 0, 1), replace: true)
        #expect(tree.value(at: .resource(1, 0, 1)) == .integer(600))
        #expect(throws: LwM2MClientError.methodNotAllowed("")) {
            try tree.write(.resource(.single(0, .integer(9))), at: .resource(1, 0, 0), replace: true)
        }
        #expect(throws: LwM2MClientError.badRequest("")) {
            try tree.write(.resource(.single(1, .boolean(true))), at: .resource(1, 0, 1), replace: true)
        }
        tree.onValidate(1, nil, 1) { _, value in
            guard case .integer(let v) = value, v >= 30 else { throw LwM2MClientError.badRequest("lifetime too short") }
        }
        #expect(throws: LwM2MClientError.badRequest("")) {
            try tree.write(.resource(.single(1, .integer(5))), at: .resource(1, 0, 1), replace: true)
        }
        #expect(tree.value(at: .resource(1, 0, 1)) == .integer(600))
        // Partial update keeps other resources; replace removes writable resources not in the payload.
        let partial = LwM2MObjectInstance(id: 0, resources: [.single(7, .string("UQ"))])
        try tree.write(.objectInstance(partial), at: .instance(1, 0), replace: false)
        #expect(tree.value(at: .resource(1, 0, 1)) == .integer(600))
        #expect(tree.value(at: .resource(1, 0, 7)) == .string("UQ"))
        let full = LwM2MObjectInstance(id: 0, resources: [.single(1, .integer(120)), .single(7, .string("U"))])
        try tree.write(.objectInstance(full), at: .instance(1, 0), replace: true)
        #expect(tree.value(at: .resource(1, 0, 5)) == nil)
        #expect(tree.value(at: .resource(1, 0, 0)) == .integer(1))  // read-only, kept
    }

    @Test("Create and delete instances; single-instance objects refuse a second instance")
    func createDelete() throws {
        let tree = try makeTree()
        let sensor = try LwM2MTemperatureSensor(tree: tree)
        #expect(sensor.instanceID == 0)
        let id = try tree.createInstance(3303, values: [5700: .float(3)])
        #expect(id == 1)
        #expect(tree.instanceIDs(of: 3303) == [0, 1])
        try tree.deleteInstance(3303, 1)
        #expect(tree.instanceIDs(of: 3303) == [0])
        #expect(throws: LwM2MClientError.notFound(.root)) { try tree.deleteInstance(3303, 1) }
        #expect(throws: LwM2MClientError.methodNotAllowed("")) { try tree.createInstance(3, values: [:]) }
    }

    @Test("Execute handlers, 4.05 on a non-executable resource, Reset Error Code")
    func execute() async throws {
        let tree = try makeTree()
        let rebooted = Mutex(false)
        tree.onExecute(3, 0, 4) { _, args in rebooted.withLock { $0 = args == "now" } }
        try await tree.execute(.resource(3, 0, 4), arguments: "now")
        #expect(rebooted.withLock { $0 })
        await #expect(throws: LwM2MClientError.methodNotAllowed("")) { try await tree.execute(.resource(3, 0, 0)) }
        try LwM2MStandardObjects.reportDeviceError(5, in: tree)
        try LwM2MStandardObjects.reportDeviceError(7, in: tree)
        #expect(try tree.read(.resource(3, 0, 11)) == .resource(.multiple(11, [0: .integer(5), 1: .integer(7)])))
        try await tree.execute(.resource(3, 0, 12))
        #expect(try tree.read(.resource(3, 0, 11)) == .resource(.multiple(11, [0: .integer(0)])))
    }

    @Test("A batch produces one round of change notifications")
    func batch() throws {
        let tree = try makeTree()
        let sensor = try LwM2MTemperatureSensor(tree: tree, initial: 20)
        let recorder = ChangeRecorder()
        tree.addChangeListener { recorder.record($0) }
        try sensor.record(25)
        #expect(recorder.all == [[.resource(3303, 0, 5700), .resource(3303, 0, 5601), .resource(3303, 0, 5602)]])
        #expect(tree.value(at: .resource(3303, 0, 5602)) == .float(25))
        #expect(tree.value(at: .resource(3303, 0, 5601)) == .float(20))
        try tree.set(.resource(3, 0, 9), .integer(80))
        #expect(recorder.all.count == 2)
    }

    @Test("Read callbacks answer dynamic values; current time follows a written value")
    func readCallbacks() throws {
        let tree = try makeTree()
        tree.onRead(3, 0, 9) { _ in .integer(42) }
        #expect(tree.value(at: .resource(3, 0, 9)) == .integer(42))
        #expect(try tree.read(.resource(3, 0, 9)) == .resource(.single(9, .integer(42))))
        try tree.write(.resource(.single(13, .time(1_000_000_000))), at: .resource(3, 0, 13), replace: true)
        guard case .time(let t) = tree.value(at: .resource(3, 0, 13)) else { Issue.record("no time"); return }
        #expect(abs(t - 1_000_000_000) < 5)
    }

    @Test("Registration payload for 1.0 and 1.1: no Security, ver= only for 1.1 and non-1.0 objects")
    func registrationLinks() throws {
        let tree = try makeTree()
        _ = try LwM2MTemperatureSensor(tree: tree)
        #expect(tree.registrationLinks(version: .v1_1) == "</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</3303/0>")
        #expect(tree.registrationLinks(version: .v1_0) == "</1/0>,</3/0>,</3303/0>")
        tree.addObject(TestDefinitions.temperature)  // replaces 3303 with no instances
        #expect(tree.registrationLinks(version: .v1_0) == "</1/0>,</3/0>,</3303>")
    }
}
