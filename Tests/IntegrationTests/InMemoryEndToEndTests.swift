import LwM2MTestPKI
import ClientKit
import CoAPCore
import Codecs
import LwM2MModel
import NIOCore
import ServerKit
import Testing

/// ServerKit's `LwM2MServer` against ClientKit's `LwM2MClient` on the simulated network with a virtual clock.
@Suite("ServerKit <-> ClientKit in memory")
struct InMemoryEndToEndTests {
    @Test("Register: the server learns the client's version, binding, objects and instances")
    func registration() async throws {
        let pair = try await Pair()
        let registration = try await pair.register()
        #expect(registration.endpoint == pair.endpoint)
        #expect(registration.version == LwM2MVersion(major: 1, minor: 1))
        #expect(registration.binding == .udp)
        #expect(registration.object(3)?.instances == [0])
        #expect(registration.object(1)?.instances == [0])
        #expect(registration.object(3303)?.instances == [0])
        #expect(await pair.server.registration(endpoint: pair.endpoint)?.id == registration.id)
    }

    @Test("Read resource, instance and object in TLV, SenML CBOR and SenML JSON", arguments: [
        CoAPContentFormat.lwm2mTLV, .senmlCBOR, .senmlJSON,
    ])
    func read(format: CoAPContentFormat) async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep) = (pair.server, pair.endpoint)
        let manufacturer = try await pair.run { try await server.read(endpoint: ep, path: .resource(3, 0, 0), format: format) }
        #expect(manufacturer.singleValue == pair.tree.value(at: .resource(3, 0, 0)))
        #expect(manufacturer.singleValue != nil)

        let instance = try await pair.run { try await server.read(endpoint: ep, path: .instance(3303, 0), format: format) }
        guard case .objectInstance(let i) = instance else {
            Issue.record("not an instance: \(instance)")
            return
        }
        #expect(i.id == 0)
        #expect(i[resource: 5700]?.value == .float(20))
        #expect(i[resource: 5701]?.value == .string("Cel"))

        let object = try await pair.run { try await server.read(endpoint: ep, path: .object(1), format: format) }
        guard case .object(let o) = object else {
            Issue.record("not an object: \(object)")
            return
        }
        #expect(o.instances.map(\.id) == [0])
        #expect(o[instance: 0]?[resource: 1]?.value == .integer(300))
        #expect(o[instance: 0]?[resource: 0]?.value == .integer(1))
    }

    @Test("Discover lists instances and resources in link format")
    func discover() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep) = (pair.server, pair.endpoint)
        let links = try await pair.run { try await server.discover(endpoint: ep, path: .instance(3303, 0)) }
        #expect(links.contains("</3303/0>"))
        #expect(links.contains("</3303/0/5700>"))
        let device = try await pair.run { try await server.discover(endpoint: ep, path: .object(3)) }
        #expect(device.contains("</3/0/0>"))
    }

    @Test("Write replace and partial update change the client's tree")
    func write() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep) = (pair.server, pair.endpoint)
        try await pair.run {
            try await server.write(endpoint: ep, path: .resource(1, 0, 1), node: .resource(.single(1, .integer(120))), mode: .replace)
        }
        #expect(pair.tree.value(at: .resource(1, 0, 1)) == .integer(120))

        let update = LwM2MObjectInstance(id: 0, resources: [.single(15, .string("Europe/Berlin")), .single(14, .string("+01:00"))])
        try await pair.run {
            try await server.write(endpoint: ep, path: .instance(3, 0), node: .objectInstance(update), mode: .partialUpdate)
        }
        #expect(pair.tree.value(at: .resource(3, 0, 15)) == .string("Europe/Berlin"))
        #expect(pair.tree.value(at: .resource(3, 0, 14)) == .string("+01:00"))
        // A partial update leaves the other resources alone.
        #expect(pair.tree.value(at: .resource(3, 0, 0)) != nil)
        let back = try await pair.run { try await server.read(endpoint: ep, path: .resource(3, 0, 15)) }
        #expect(back.singleValue == .string("Europe/Berlin"))
    }

    @Test("Write-Attributes pmin/pmax are honoured on the virtual clock")
    func attributesAndObserve() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep, clock) = (pair.server, pair.endpoint, pair.clock)
        let path = LwM2MPath.resource(3303, 0, 5700)
        // The clock stands still from here on and moves only where the test moves it, after the code under test
        // has done what it must do first: on a perfect simulated network no exchange needs virtual time, so
        // scheduling delays (a loaded machine) cannot shift any timestamp below.
        try await withTimeout(seconds: 60) {
            try await server.writeAttributes(endpoint: ep, path: path, attributes: ["pmin=10", "pmax=30"])
        }
        let (observation, first) = try await withTimeout(seconds: 60) {
            try await server.observe(endpoint: ep, path: path)
        }
        #expect(first.singleValue == .float(20))
        let notifications = Recorder(await server.notifications(of: observation))
        // The client's Observe response (its pmin/pmax reference) and the server's record share one instant.
        let start = observation.createdAt
        #expect(start == clock.now)
        try pair.sensor.record(24.5)

        // The change is held back by pmin: the client arms its timer for start + pmin instead of notifying.
        let pminDeadline = start + .seconds(10)
        try await eventually { clock.pendingDeadlines.contains(pminDeadline) || !notifications.all.isEmpty }
        #expect(notifications.all.isEmpty, "notified before pmin")
        #expect(clock.pendingDeadlines.contains(pminDeadline))
        // ... and goes out when pmin expires.
        clock.advance(to: pminDeadline)
        try await eventually { !notifications.all.isEmpty }
        let held = notifications.all[0]
        #expect(held.content == .node(path, .resource(.single(5700, .float(24.5)))))
        #expect(held.receivedAt == pminDeadline)

        // Without a change, pmax brings the next one, pmax after the last notification.
        let pmaxDeadline = held.receivedAt + .seconds(30)
        try await eventually { clock.pendingDeadlines.contains(pmaxDeadline) || notifications.all.count > 1 }
        #expect(notifications.all.count == 1, "notified before pmax")
        clock.advance(to: pmaxDeadline)
        try await eventually { notifications.all.count >= 2 }
        let periodic = notifications.all[1]
        #expect(periodic.content == .node(path, .resource(.single(5700, .float(24.5)))))
        #expect(periodic.receivedAt == pmaxDeadline)
    }

    @Test("Observe: notifications after sensor.record, then active cancel")
    func observeAndCancelActive() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep) = (pair.server, pair.endpoint)
        let path = LwM2MPath.resource(3303, 0, 5700)
        let (observation, _) = try await pair.run { try await server.observe(endpoint: ep, path: path) }
        #expect(await pair.client.activeObservations.map(\.path) == [path])
        let before = pair.serverEvents.all.count
        try pair.sensor.record(31.5)
        let event = try await pair.serverEvent(after: before) { if case .notification = $0 { true } else { false } }
        guard case .notification(let n) = event else { return }
        #expect(n.observation.token == observation.token)
        #expect(n.content == .node(path, .resource(.single(5700, .float(31.5)))))

        try await pair.run { try await server.cancelObservation(endpoint: ep, path: path, active: true) }
        #expect(await pair.client.activeObservations.isEmpty)
        #expect(await server.observations(endpoint: ep).isEmpty)
    }

    @Test("Passive cancel: the next notification is answered with RST and the client forgets the observer")
    func cancelPassive() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep, client) = (pair.server, pair.endpoint, pair.client)
        let path = LwM2MPath.resource(3303, 0, 5700)
        _ = try await pair.run { try await server.observe(endpoint: ep, path: path) }
        try await pair.run { try await server.cancelObservation(endpoint: ep, path: path, active: false) }
        #expect(await server.observations(endpoint: ep).isEmpty)
        #expect(await client.activeObservations.count == 1)
        let before = pair.serverEvents.all.count
        try pair.sensor.record(18)
        try await pair.run(maxVirtual: .seconds(120)) {
            while await !client.activeObservations.isEmpty { try Task.checkCancellation(); await Task.yield() }
        }
        #expect(await client.activeObservations.isEmpty)
        #expect(!pair.serverEvents.all.dropFirst(before).contains { if case .notification = $0 { true } else { false } })
    }

    @Test("Execute /1/0/8 makes the client send an Update")
    func executeTriggersUpdate() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep) = (pair.server, pair.endpoint)
        // At most one Update per 15 s: let that much virtual time pass first.
        let before = pair.serverEvents.all.count
        try await pair.run { try await pair.clock.sleep(until: pair.clock.now + .seconds(16)) }
        try await pair.run { try await server.execute(endpoint: ep, path: .resource(1, 0, 8)) }
        try await pair.serverEvent(after: before, maxVirtual: .seconds(60)) { if case .updated = $0 { true } else { false } }
    }

    @Test("Create and Delete an instance of 3303", arguments: [CoAPContentFormat.lwm2mTLV, .senmlCBOR, .senmlJSON])
    func createDelete(format: CoAPContentFormat) async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep) = (pair.server, pair.endpoint)
        let created = try await pair.run {
            try await server.create(
                endpoint: ep, objectID: 3303, instanceID: 1,
                resources: [.single(5700, .float(30)), .single(5701, .string("Cel"))], format: format)
        }
        #expect(created == .instance(3303, 1))
        #expect(pair.tree.instanceIDs(of: 3303).contains(1))
        let value = try await pair.run { try await server.read(endpoint: ep, path: .resource(3303, 1, 5700)) }
        #expect(value.singleValue == .float(30))

        try await pair.run { try await server.delete(endpoint: ep, path: .instance(3303, 1)) }
        #expect(!pair.tree.instanceIDs(of: 3303).contains(1))
        await #expect(throws: LwM2MServerError.errorResponse(.notFound)) {
            _ = try await pair.run { try await server.read(endpoint: ep, path: .instance(3303, 1)) }
        }
    }

    @Test("Read-Composite and Write-Composite")
    func composite() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep) = (pair.server, pair.endpoint)
        let records = try await pair.run {
            try await server.readComposite(endpoint: ep, paths: [.resource(3303, 0, 5700), .resource(1, 0, 1)])
        }
        #expect(records.first { $0.path == .resource(3303, 0, 5700) }?.value == .float(20))
        #expect(records.first { $0.path == .resource(1, 0, 1) }?.value == .integer(300))

        try await pair.run {
            try await server.writeComposite(endpoint: ep, records: [
                LwM2MRecord(path: .resource(1, 0, 1), value: .integer(200)),
                LwM2MRecord(path: .resource(3, 0, 15), value: .string("Asia/Tokyo")),
            ])
        }
        #expect(pair.tree.value(at: .resource(1, 0, 1)) == .integer(200))
        #expect(pair.tree.value(at: .resource(3, 0, 15)) == .string("Asia/Tokyo"))
    }

    @Test("Send reaches the server as a send event")
    func send() async throws {
        let pair = try await Pair()
        try await pair.register()
        try pair.sensor.record(22.25)
        let client = pair.client
        let code = try await pair.run { try await client.send(paths: [.resource(3303, 0, 5700), .resource(3, 0, 0)]) }
        #expect(code == .changed)
        let event = try await pair.serverEvent { if case .send = $0 { true } else { false } }
        guard case .send(let report) = event else { return }
        #expect(report.endpoint == pair.endpoint)
        #expect(report.records.first { $0.path == .resource(3303, 0, 5700) }?.value == .float(22.25))
        #expect(report.records.contains { $0.path == .resource(3, 0, 0) })
    }

    @Test("Error codes: 4.04 for a missing path, 4.05 for a write on a read-only resource")
    func errors() async throws {
        let pair = try await Pair()
        try await pair.register()
        let (server, ep) = (pair.server, pair.endpoint)
        for path in [LwM2MPath.resource(3, 0, 99), .instance(3, 7), .object(4321)] {
            do {
                _ = try await pair.run { try await server.read(endpoint: ep, path: path) }
                Issue.record("read of \(path) succeeded")
            } catch let error as LwM2MServerError {
                #expect(error.coapCode == .notFound, "\(path)")
            }
        }
        do {
            try await pair.run {
                try await server.write(
                    endpoint: ep, path: .resource(3, 0, 0), node: .resource(.single(0, .string("x"))), mode: .replace)
            }
            Issue.record("write of a read-only resource succeeded")
        } catch let error as LwM2MServerError {
            #expect(error.coapCode == .methodNotAllowed)
        }
        #expect(pair.tree.value(at: .resource(3, 0, 0)) != .string("x"))
    }

    @Test("De-register: the server reports it and forgets the client")
    func deregister() async throws {
        let pair = try await Pair()
        let registration = try await pair.register()
        await pair.client.stop()
        let event = try await pair.serverEvent { if case .deregistered = $0 { true } else { false } }
        guard case .deregistered(let r) = event else { return }
        #expect(r.id == registration.id)
        #expect(await pair.server.registration(endpoint: pair.endpoint) == nil)
        await #expect(throws: LwM2MServerError.notRegistered(pair.endpoint)) {
            let (server, ep) = (pair.server, pair.endpoint)
            _ = try await pair.run { try await server.read(endpoint: ep, path: .resource(3, 0, 0)) }
        }
    }
}
