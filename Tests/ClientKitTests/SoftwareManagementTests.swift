import ClientKit
import CoAPCore
import LwM2MModel
import NIOCore
import Synchronization
import Testing
import LwM2MTestPKI

@Suite("Software Management (object 9)")
struct SoftwareManagementTests {
    final class Calls: Sendable {
        let log = Mutex<[String]>([])
        let failValidation = Mutex(false)
        let failInstall = Mutex(false)
        var callbacks: LwM2MSoftwareManagement.Callbacks {
            .init(
                validate: { [self] bytes in
                    log.withLock { $0.append("validate \(bytes.count)") }
                    if failValidation.withLock({ $0 }) { throw LwM2MSoftwareManagement.Failure(.unsupportedPackageType) }
                },
                install: { [self] bytes in
                    log.withLock { $0.append("install \(bytes.count)") }
                    if failInstall.withLock({ $0 }) { throw SomeError() }
                },
                uninstall: { [self] forUpdate in log.withLock { $0.append("uninstall \(forUpdate)") } },
                activate: { [self] on in log.withLock { $0.append("activate \(on)") } })
        }
    }

    func values(_ tree: LwM2MObjectTree) -> (LwM2MValue?, LwM2MValue?) {
        (tree.value(at: .resource(9, 0, 7)), tree.value(at: .resource(9, 0, 9)))
    }

    @Test("INITIAL -> DOWNLOAD STARTED -> DELIVERED -> INSTALLED; Activate/Deactivate; Uninstall -> INITIAL")
    func lifecycle() async throws {
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        let calls = Calls()
        let sw = try LwM2MStandardObjects.installSoftwareManagement(
            in: tree, name: "app", version: "1.0", callbacks: calls.callbacks)
        #expect(values(tree) == (.integer(0), .integer(0)))
        #expect(tree.value(at: .resource(9, 0, 0)) == .string("app"))
        await #expect(throws: LwM2MClientError.methodNotAllowed("")) { try await tree.execute(.resource(9, 0, 4)) }
        try tree.write(.resource(.single(2, .opaque([1, 2, 3]))), at: .resource(9, 0, 2), replace: true)
        #expect(sw.state == .downloadStarted || sw.state == .downloaded || sw.state == .delivered)
        await sw.settle()
        #expect(values(tree) == (.integer(3), .integer(3)))
        #expect(throws: LwM2MClientError.methodNotAllowed("")) {
            try tree.write(.resource(.single(2, .opaque([4]))), at: .resource(9, 0, 2), replace: true)
        }
        await #expect(throws: LwM2MClientError.methodNotAllowed("")) { try await tree.execute(.resource(9, 0, 10)) }
        try await tree.execute(.resource(9, 0, 4))
        #expect(values(tree) == (.integer(4), .integer(2)))
        try await tree.execute(.resource(9, 0, 10))
        #expect(tree.value(at: .resource(9, 0, 12)) == .boolean(true))
        #expect(sw.isActive)
        try await tree.execute(.resource(9, 0, 11))
        #expect(tree.value(at: .resource(9, 0, 12)) == .boolean(false))
        try await tree.execute(.resource(9, 0, 6), arguments: "1")
        #expect(values(tree) == (.integer(0), .integer(0)))
        #expect(calls.log.withLock { $0 } == ["validate 3", "install 3", "activate true", "activate false", "uninstall true"])
    }

    @Test("Failures: validation -> INITIAL with its result; install -> stays DELIVERED with 58; bad URI -> 56")
    func failures() async throws {
        let network = CoAPSimulatedNetwork(clock: CoAPVirtualClock())
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        let calls = Calls()
        let sw = try LwM2MStandardObjects.installSoftwareManagement(
            in: tree, name: "app", version: "1.0",
            endpoint: CoAPEndpoint(transport: network.makeTransport(), clock: network.clock), callbacks: calls.callbacks)
        calls.failValidation.withLock { $0 = true }
        try tree.write(.resource(.single(2, .opaque([1]))), at: .resource(9, 0, 2), replace: true)
        await sw.settle()
        #expect(values(tree) == (.integer(0), .integer(54)))
        calls.failValidation.withLock { $0 = false }
        calls.failInstall.withLock { $0 = true }
        try tree.write(.resource(.single(2, .opaque([1]))), at: .resource(9, 0, 2), replace: true)
        await sw.settle()
        try await tree.execute(.resource(9, 0, 4))
        #expect(values(tree) == (.integer(3), .integer(58)))
        try await tree.execute(.resource(9, 0, 6))
        #expect(values(tree) == (.integer(0), .integer(0)))
        try tree.write(.resource(.single(3, .string("ftp://x/y"))), at: .resource(9, 0, 3), replace: true)
        await sw.settle()
        #expect(values(tree) == (.integer(0), .integer(56)))
    }

    @Test("Pull of a package over the simulated network with Block2, then Install over CoAP")
    func pullOverNetwork() async throws {
        let f = try await ClientFixture()
        f.tree.addObject(LwM2MRegistry.builtIn.objectDefinition(9, version: nil)!)
        let calls = Calls()
        let sw = try LwM2MStandardObjects.installSoftwareManagement(
            in: f.tree, name: "app", version: "1.0", endpoint: f.client.endpoint, callbacks: calls.callbacks)
        try await f.register()
        let files = CoAPEndpoint(transport: f.network.makeTransport(), clock: f.clock)
        await files.register("/pkg") { _ in .response(.content, payload: ByteBuffer(bytes: firmwareImage), contentFormat: .octetStream) }
        let uri = "coap://\(files.localAddress.ipAddress!):\(files.localAddress.port!)/pkg"
        let write = CoAPMessage.request(.put, path: "/9/0/3", payload: ByteBuffer(string: uri), contentFormat: .textPlain)
        #expect(try await f.request(write).code == .changed)
        try await driving(f.clock) { await sw.settle() }
        #expect(sw.state == .delivered)
        #expect(try await f.request(.request(.post, path: "/9/0/4")).code == .changed)
        #expect(calls.log.withLock { $0 } == ["validate 40960", "install 40960"])
        let state = try await f.request(.request(.get, path: "/9/0/7"))
        #expect(String(buffer: state.payload) == "4")
        #expect(try await f.request(.request(.post, path: "/9/0/4")).code == .methodNotAllowed)
        await files.close()
    }
}
