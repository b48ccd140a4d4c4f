import ClientKit
import CoAPCore
import LwM2MModel
import NIOCore
import Synchronization
import Testing
import LwM2MTestPKI

/// Records what the firmware callbacks saw.
final class FirmwareProbe: Sendable {
    let validated = Mutex<[[UInt8]]>([])
    let installed = Mutex<[[UInt8]]>([])
    let validationError = Mutex<(any Error)?>(nil)
    let installError = Mutex<(any Error)?>(nil)

    var validate: LwM2MFirmwareUpdate.Validator {
        { [self] image in
            validated.withLock { $0.append(image) }
            if let e = validationError.withLock({ $0 }) { throw e }
        }
    }

    var install: LwM2MFirmwareUpdate.Installer {
        { [self] image in
            installed.withLock { $0.append(image) }
            if let e = installError.withLock({ $0 }) { throw e }
        }
    }
}

struct SomeError: Error {}

/// A deterministic 40 KiB image.
let firmwareImage: [UInt8] = (0..<40 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }

@Suite("Firmware Update (object 5)")
struct FirmwareUpdateTests {
    func makeTree(endpoint: CoAPEndpoint? = nil) throws -> (LwM2MObjectTree, LwM2MFirmwareUpdate, FirmwareProbe) {
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        let probe = FirmwareProbe()
        let fw = try LwM2MStandardObjects.installFirmwareUpdate(
            in: tree, endpoint: endpoint, validate: probe.validate, update: probe.install)
        return (tree, fw, probe)
    }

    func writePackage(_ tree: LwM2MObjectTree, _ bytes: [UInt8]) throws {
        try tree.write(.resource(.single(0, .opaque(bytes))), at: .resource(5, 0, 0), replace: true)
    }

    func stateAndResult(_ tree: LwM2MObjectTree) -> (LwM2MValue?, LwM2MValue?) {
        (tree.value(at: .resource(5, 0, 3)), tree.value(at: .resource(5, 0, 5)))
    }

    @Test("Initial resources: Idle, result 0, delivery method and protocol support")
    func initial() throws {
        let (tree, fw, _) = try makeTree()
        #expect(fw.state == .idle)
        #expect(stateAndResult(tree) == (.integer(0), .integer(0)))
        #expect(tree.value(at: .resource(5, 0, 9)) == .integer(1))  // push only without an endpoint
        #expect(!tree.contains(.resourceInstance(5, 0, 8, 0)))
        let network = CoAPSimulatedNetwork(clock: CoAPVirtualClock())
        let (tree2, _, _) = try makeTree(endpoint: CoAPEndpoint(transport: network.makeTransport(), clock: network.clock))
        #expect(tree2.value(at: .resource(5, 0, 9)) == .integer(2))
        #expect(tree2.value(at: .resourceInstance(5, 0, 8, 0)) == .integer(0))
    }

    @Test("Push: Write Package -> Downloading -> Downloaded; Update -> Updating -> Idle with result 1")
    func push() async throws {
        let (tree, fw, probe) = try makeTree()
        let image: [UInt8] = Array(firmwareImage.prefix(100))
        try writePackage(tree, image)
        #expect(fw.state == .downloading || fw.state == .downloaded)
        await fw.settle()
        #expect(stateAndResult(tree) == (.integer(2), .integer(0)))
        #expect(probe.validated.withLock { $0 } == [image])
        try await tree.execute(.resource(5, 0, 2))
        await fw.settle()
        #expect(probe.installed.withLock { $0 } == [image])
        #expect(fw.state == .idle)
        #expect(stateAndResult(tree) == (.integer(0), .integer(1)))
        // The write-only Package keeps no copy of the image.
        #expect(tree.value(at: .resource(5, 0, 0)) == .opaque([]))
    }

    @Test("Observers hear of a state or result only when it changes (one /5/0/5 = 1 per Update, not two)")
    func changesOnlyWhenValuesChange() async throws {
        let (tree, fw, _) = try makeTree()
        let changes = Mutex<[Set<LwM2MPath>]>([])
        tree.addChangeListener { paths in changes.withLock { $0.append(paths) } }
        try writePackage(tree, Array(firmwareImage.prefix(100)))
        await fw.settle()
        try await tree.execute(.resource(5, 0, 2))
        await fw.settle()
        let result = LwM2MPath.resource(5, 0, 5), state = LwM2MPath.resource(5, 0, 3)
        // Result: 0 stays 0 through Downloading/Downloaded/Updating, then 1 once.
        #expect(changes.withLock { $0.filter { $0.contains(result) }.count } == 1)
        // State: Downloading, Downloaded, Updating, Idle.
        #expect(changes.withLock { $0.filter { $0.contains(state) }.count } == 4)
        #expect(stateAndResult(tree) == (.integer(0), .integer(1)))
    }

    @Test("Update outside Downloaded and a new image outside Idle are refused with 4.05")
    func wrongState() async throws {
        let (tree, fw, _) = try makeTree()
        await #expect(throws: LwM2MClientError.methodNotAllowed("")) { try await tree.execute(.resource(5, 0, 2)) }
        try writePackage(tree, [1, 2, 3])
        await fw.settle()
        #expect(fw.state == .downloaded)
        #expect(throws: LwM2MClientError.methodNotAllowed("")) { try writePackage(tree, [4, 5]) }
        #expect(throws: LwM2MClientError.methodNotAllowed("")) {
            try tree.write(.resource(.single(1, .string("coap://10.0.0.9/fw"))), at: .resource(5, 0, 1), replace: true)
        }
        // An empty Package resets to Idle with result 0; Update is refused again.
        try writePackage(tree, [])
        #expect(stateAndResult(tree) == (.integer(0), .integer(0)))
        await #expect(throws: LwM2MClientError.methodNotAllowed("")) { try await tree.execute(.resource(5, 0, 2)) }
    }

    @Test("Failing validation returns to Idle with the callback's result (5 for other errors)")
    func failingValidation() async throws {
        let (tree, fw, probe) = try makeTree()
        probe.validationError.withLock { $0 = LwM2MFirmwareUpdate.Failure(.unsupportedPackageType) }
        try writePackage(tree, [9, 9, 9])
        await fw.settle()
        #expect(stateAndResult(tree) == (.integer(0), .integer(6)))
        probe.validationError.withLock { $0 = SomeError() }
        try writePackage(tree, [9, 9, 9])
        await fw.settle()
        #expect(fw.result == .integrityCheckFailure)
        #expect(stateAndResult(tree) == (.integer(0), .integer(5)))
        // A new image after a failure starts over with result 0.
        probe.validationError.withLock { $0 = nil }
        try writePackage(tree, [1])
        await fw.settle()
        #expect(stateAndResult(tree) == (.integer(2), .integer(0)))
    }

    @Test("A failing installer goes back to Downloaded with result 8 (or its own result); Update may be retried")
    func failingUpdate() async throws {
        let (tree, fw, probe) = try makeTree()
        try writePackage(tree, [1, 2])
        await fw.settle()
        probe.installError.withLock { $0 = SomeError() }
        try await tree.execute(.resource(5, 0, 2))
        await fw.settle()
        #expect(stateAndResult(tree) == (.integer(2), .integer(8)))
        probe.installError.withLock { $0 = LwM2MFirmwareUpdate.Failure(.notEnoughFlash) }
        try await tree.execute(.resource(5, 0, 2))
        await fw.settle()
        #expect(stateAndResult(tree) == (.integer(2), .integer(2)))
        probe.installError.withLock { $0 = nil }
        try await tree.execute(.resource(5, 0, 2))
        await fw.settle()
        #expect(stateAndResult(tree) == (.integer(0), .integer(1)))
        #expect(probe.installed.withLock { $0.count } == 3)
    }

    @Test("Pull: bad URIs report 7 or 9; without an endpoint every URI reports 9; empty URI resets")
    func pullURIs() async throws {
        let network = CoAPSimulatedNetwork(clock: CoAPVirtualClock())
        let endpoint = CoAPEndpoint(transport: network.makeTransport(), clock: network.clock)
        let (tree, fw, probe) = try makeTree(endpoint: endpoint)
        func pull(_ uri: String) async throws -> LwM2MValue? {
            try tree.write(.resource(.single(1, .string(uri))), at: .resource(5, 0, 1), replace: true)
            await fw.settle()
            return tree.value(at: .resource(5, 0, 5))
        }
        #expect(try await pull("https://example.com/fw.bin") == .integer(9))
        #expect(try await pull("coaps://10.0.0.9/fw.bin") == .integer(9))
        #expect(try await pull("not a uri") == .integer(7))
        #expect(try await pull("coap://10.0.0.9:99999/fw") == .integer(7))
        #expect(try await pull("coap:///fw") == .integer(7))
        // Malformed percent escapes and escapes that decode to bytes that are not UTF-8 (RFC 3986 2.1).
        #expect(try await pull("coap://10.0.0.9/fw%2") == .integer(7))
        #expect(try await pull("coap://10.0.0.9/fw%zz/a") == .integer(7))
        #expect(try await pull("coap://10.0.0.9/fw?x=%") == .integer(7))
        #expect(try await pull("coap://10.0.0.9/%C3%28") == .integer(7))
        #expect(fw.state == .idle)
        #expect(tree.value(at: .resource(5, 0, 1)) == .string("coap://10.0.0.9/%C3%28"))
        try tree.write(.resource(.single(1, .string(""))), at: .resource(5, 0, 1), replace: true)
        #expect(stateAndResult(tree) == (.integer(0), .integer(0)))
        #expect(probe.validated.withLock { $0.isEmpty })

        let (pushOnly, fw2, _) = try makeTree()
        try pushOnly.write(.resource(.single(1, .string("coap://10.0.0.9/fw"))), at: .resource(5, 0, 1), replace: true)
        await fw2.settle()
        #expect(fw2.result == .unsupportedProtocol)
    }

    // MARK: - Over the simulated network

    func networkFixture() async throws -> (ClientFixture, LwM2MFirmwareUpdate, FirmwareProbe) {
        let f = try await ClientFixture()
        f.tree.addObject(LwM2MRegistry.builtIn.objectDefinition(5, version: nil)!)
        let probe = FirmwareProbe()
        let fw = try LwM2MStandardObjects.installFirmwareUpdate(
            in: f.tree, endpoint: f.client.endpoint, validate: probe.validate, update: probe.install)
        try await f.register()
        return (f, fw, probe)
    }

    func readText(_ f: ClientFixture, _ path: String) async throws -> String {
        let response = try await f.request(.request(.get, path: path))
        #expect(response.code == .content)
        return String(buffer: response.payload)
    }

    @Test("Push of a 40 KiB image with Block1 over the simulated network, then Update")
    func pushOverNetwork() async throws {
        let (f, fw, probe) = try await networkFixture()
        #expect(String(buffer: f.server.messages[0].payload).contains("</5/0>"))
        let write = CoAPMessage.request(
            .put, path: "/5/0/0", payload: ByteBuffer(bytes: firmwareImage), contentFormat: .octetStream)
        #expect(try await f.request(write).code == .changed)
        try await driving(f.clock) { await fw.settle() }
        #expect(probe.validated.withLock { $0 } == [firmwareImage])
        #expect(try await readText(f, "/5/0/3") == "2")
        #expect(try await f.request(.request(.post, path: "/5/0/2")).code == .changed)
        try await driving(f.clock) { await fw.settle() }
        #expect(probe.installed.withLock { $0.first?.count } == 40 * 1024)
        #expect(try await readText(f, "/5/0/3") == "0")
        #expect(try await readText(f, "/5/0/5") == "1")
    }

    @Test("Wrong state and failing validation over the simulated network")
    func wrongStateOverNetwork() async throws {
        let (f, fw, probe) = try await networkFixture()
        #expect(try await f.request(.request(.post, path: "/5/0/2")).code == .methodNotAllowed)
        probe.validationError.withLock { $0 = LwM2MFirmwareUpdate.Failure(.integrityCheckFailure) }
        let write = CoAPMessage.request(
            .put, path: "/5/0/0", payload: ByteBuffer(bytes: firmwareImage), contentFormat: .octetStream)
        // Errors of the process are reported by Update Result only: the Write itself succeeds.
        #expect(try await f.request(write).code == .changed)
        try await driving(f.clock) { await fw.settle() }
        #expect(try await readText(f, "/5/0/3") == "0")
        #expect(try await readText(f, "/5/0/5") == "5")
        #expect(try await f.request(.request(.post, path: "/5/0/2")).code == .methodNotAllowed)
    }

    @Test("Pull of a 40 KiB image with Block2 from a CoAP server on the simulated network; a missing one reports 7")
    func pullOverNetwork() async throws {
        let (f, fw, probe) = try await networkFixture()
        let files = CoAPEndpoint(transport: f.network.makeTransport(), clock: f.clock)
        let gets = Mutex(0)
        await files.register("/fw/image.bin") { _ in
            gets.withLock { $0 += 1 }
            return .response(.content, payload: ByteBuffer(bytes: firmwareImage), contentFormat: .octetStream)
        }
        let host = files.localAddress.ipAddress!
        let port = files.localAddress.port!
        let uri = "coap://\(host):\(port)/fw/image.bin"
        let write = CoAPMessage.request(.put, path: "/5/0/1", payload: ByteBuffer(string: uri), contentFormat: .textPlain)
        #expect(try await f.request(write).code == .changed)
        try await driving(f.clock) { await fw.settle() }
        #expect(probe.validated.withLock { $0 } == [firmwareImage])
        #expect(gets.withLock { $0 } >= 1)
        #expect(try await readText(f, "/5/0/3") == "2")
        #expect(try await readText(f, "/5/0/1") == uri)
        #expect(try await f.request(.request(.post, path: "/5/0/2")).code == .changed)
        try await driving(f.clock) { await fw.settle() }
        #expect(try await readText(f, "/5/0/5") == "1")

        let missing = CoAPMessage.request(
            .put, path: "/5/0/1", payload: ByteBuffer(string: "coap://\(host):\(port)/fw/none.bin"), contentFormat: .textPlain)
        #expect(try await f.request(missing).code == .changed)
        try await driving(f.clock) { await fw.settle() }
        #expect(try await readText(f, "/5/0/3") == "0")
        #expect(try await readText(f, "/5/0/5") == "7")
        await files.close()
    }

    @Test("Pull: percent-encoded path segments and query items become decoded Uri-Path/Uri-Query options")
    func pullPercentEncoded() async throws {
        let (f, fw, probe) = try await networkFixture()
        let files = CoAPEndpoint(transport: f.network.makeTransport(), clock: f.clock)
        let seen = Mutex<[([String], [String])]>([])
        await files.register("/fw", matchesSubpaths: true) { request in
            seen.withLock { $0.append((request.message.uriPath, request.message.uriQuery)) }
            return .response(.content, payload: ByteBuffer(bytes: firmwareImage), contentFormat: .octetStream)
        }
        let host = files.localAddress.ipAddress!
        let port = files.localAddress.port!
        // "%2F" stays inside its segment, "%20" is a space, "%C3%A9" is UTF-8 for e-acute, "./" disappears.
        let uri = "coap://\(host):\(port)/fw/./r%C3%A9lease%201/a%2Fb.bin?v=%31&tag=x%26y"
        let write = CoAPMessage.request(.put, path: "/5/0/1", payload: ByteBuffer(string: uri), contentFormat: .textPlain)
        #expect(try await f.request(write).code == .changed)
        try await driving(f.clock) { await fw.settle() }
        #expect(probe.validated.withLock { $0 } == [firmwareImage])
        let first = try #require(seen.withLock { $0.first })
        #expect(first.0 == ["fw", "r\u{E9}lease 1", "a/b.bin"])
        #expect(first.1 == ["v=1", "tag=x&y"])
        #expect(fw.state == .downloaded)
        await files.close()
    }

    @Test("An observer of State /5/0/3 hears Downloaded after a push")
    func observeState() async throws {
        let (f, fw, _) = try await networkFixture()
        var observe = CoAPMessage.request(.get, path: "/5/0/3")
        observe.observe = 0
        let stream = await f.server.endpoint.responses(for: observe, to: f.client.endpoint.localAddress)
        let box = NotificationBox()
        let clock = f.clock
        let reader = Task { for try await m in stream { box.items.withLock { $0.append((m, clock.now)) } } }
        defer { reader.cancel() }
        func payloads() -> [String] { box.items.withLock { $0.map { String(buffer: $0.0.payload) } } }
        try await driving(clock) {
            while box.items.withLock({ $0.isEmpty }) {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
        #expect(payloads() == ["0"])
        let write = CoAPMessage.request(.put, path: "/5/0/0", payload: ByteBuffer(bytes: [1, 2, 3]), contentFormat: .octetStream)
        #expect(try await f.request(write).code == .changed)
        try await driving(clock) { await fw.settle() }
        try await driving(clock) {
            while box.items.withLock({ $0.last.map { String(buffer: $0.0.payload) } }) != "2" {
                try Task.checkCancellation()
                await Task.yield()
            }
        }
        #expect(payloads().last == "2")
        #expect(payloads().count >= 2)
    }
}
