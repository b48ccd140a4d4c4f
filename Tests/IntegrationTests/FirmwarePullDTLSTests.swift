import LwM2MTestPKI
import ClientKit
import CoAPCore
import DTLSTransport
import LwM2MModel
import NIOCore
import Synchronization
import Testing

/// A CoAP file server on a `DTLSServerTransport` (loopback, port 0, PSK) serving one image, recording the PSK
/// identity of every GET.
final class SecureFileServer: Sendable {
    let endpoint: CoAPEndpoint
    let identities = Mutex<[CoAPPeerIdentity?]>([])
    let port: Int

    init(keys: [String: [UInt8]], image: [UInt8]) async throws {
        let transport = try await DTLSServerTransport.bind(
            host: "127.0.0.1", port: 0, configuration: .server(psk: DTLSStaticPSKStore(keys)))
        endpoint = CoAPEndpoint(transport: transport)
        port = transport.localAddress.port!
        await endpoint.register("/fw/image.bin") { [self] request in
            identities.withLock { $0.append(request.peerIdentity) }
            return .response(.content, payload: ByteBuffer(bytes: image), contentFormat: .octetStream)
        }
    }
}

@Suite("Firmware pull over coaps:// (DTLS-PSK, loopback)")
struct FirmwarePullDTLSTests {
    static let serverKey: [UInt8] = Array("0123456789abcdef".utf8)
    static let downloadKey: [UInt8] = Array("fedcba9876543210".utf8)
    /// 20 KiB: several Block2 blocks.
    static let image: [UInt8] = (0..<20 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }

    /// A tree with the LwM2M server account (SSID 1, PSK "srv") and Firmware Update pulling over DTLS.
    func makeTree() throws -> (LwM2MObjectTree, LwM2MFirmwareUpdate) {
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installSecurity(
            in: tree, instanceID: 0, serverURI: "coaps://127.0.0.1:9", shortServerID: 1, mode: .preSharedKey,
            publicKeyOrIdentity: Array("srv".utf8), secretKey: Self.serverKey)
        try LwM2MStandardObjects.installServer(in: tree, shortServerID: 1, lifetime: 300)
        let firmware = try LwM2MStandardObjects.installFirmwareUpdate(
            in: tree, transports: LwM2MNetworkTransportFactory(handshakeTimeout: .seconds(2)), update: { _ in })
        return (tree, firmware)
    }

    func pull(_ uri: String, _ tree: LwM2MObjectTree, _ firmware: LwM2MFirmwareUpdate) async throws {
        try tree.write(.resource(.single(1, .string(uri))), at: .resource(5, 0, 1), replace: true)
        try await withTimeout(seconds: 30) { await firmware.settle() }
    }

    @Test("The Security instance naming the download host supplies the PSK; Block2 over DTLS; then Update")
    func matchingSecurityInstance() async throws {
        let files = try await SecureFileServer(keys: ["fw-dev": Self.downloadKey], image: Self.image)
        let (tree, firmware) = try makeTree()
        // Protocol Support lists CoAPS (1) only: no endpoint for coap:// was given.
        #expect(tree.value(at: .resourceInstance(5, 0, 8, 0)) == .integer(1))
        try LwM2MStandardObjects.installSecurity(
            in: tree, instanceID: 1, serverURI: "coaps://127.0.0.1:\(files.port)", shortServerID: 7,
            mode: .preSharedKey, publicKeyOrIdentity: Array("fw-dev".utf8), secretKey: Self.downloadKey)
        try await pull("coaps://127.0.0.1:\(files.port)/fw/image.bin", tree, firmware)
        #expect(firmware.state == .downloaded)
        #expect(firmware.result == .initial)
        #expect(Set(files.identities.withLock { $0 }) == [.psk(identity: "fw-dev")])
        try await tree.execute(.resource(5, 0, 2))
        await firmware.settle()
        #expect(firmware.result == .success)
        await files.endpoint.close()
    }

    @Test("Without a matching Security instance the server account's credentials are used")
    func serverAccountCredentials() async throws {
        let files = try await SecureFileServer(keys: ["srv": Self.serverKey], image: Self.image)
        let (tree, firmware) = try makeTree()
        try await pull("coaps://127.0.0.1:\(files.port)/fw/image.bin", tree, firmware)
        #expect(firmware.state == .downloaded)
        #expect(files.identities.withLock { $0.first } == .psk(identity: "srv"))
        await files.endpoint.close()
    }

    @Test("A failed handshake reports 4 (connection lost); no DTLS credentials or no factory report 9")
    func failures() async throws {
        let files = try await SecureFileServer(keys: ["other": Self.serverKey], image: Self.image)
        let (tree, firmware) = try makeTree()
        try await pull("coaps://127.0.0.1:\(files.port)/fw/image.bin", tree, firmware)
        #expect(firmware.state == .idle)
        #expect(tree.value(at: .resource(5, 0, 5)) == .integer(4))
        #expect(files.identities.withLock { $0.isEmpty })

        let plain = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installSecurity(in: plain, serverURI: "coap://127.0.0.1:9", shortServerID: 1)
        try LwM2MStandardObjects.installServer(in: plain, shortServerID: 1, lifetime: 300)
        let noCredentials = try LwM2MStandardObjects.installFirmwareUpdate(
            in: plain, transports: LwM2MNetworkTransportFactory(), update: { _ in })
        try await pull("coaps://127.0.0.1:\(files.port)/fw/image.bin", plain, noCredentials)
        #expect(noCredentials.result == .unsupportedProtocol)
        // http(s) is not implemented: 9 as well.
        try await pull("https://127.0.0.1/fw/image.bin", plain, noCredentials)
        #expect(noCredentials.result == .unsupportedProtocol)
        await files.endpoint.close()
    }
}
