import CoAPCore
import Codecs
import LwM2MModel
import Logging
import NIOCore
import Testing

import ServerKit

@Suite("docs/ServerKit.md")
struct DocExampleTests {
    @Test("The README example registers a client")
    func example() throws {
        var registrations = RegistrationStateMachine(logger: Logger(label: "lwm2m.server"))
        var register = CoAPMessage(type: .confirmable, code: .post, messageID: 1, token: CoAPToken(value: 7, length: 2))
        register.uriPath = ["rd"]
        register.uriQuery = ["ep=dev1", "lt=60", "lwm2m=1.1"]
        register.contentFormat = .linkFormat
        register.payload = ByteBuffer(string: #"</>;rt="oma.lwm2m";ct=112,</1/0>,</3/0>"#)

        let peer = try SocketAddress(ipAddress: "192.0.2.10", port: 56830)
        let output = registrations.handle(register, from: peer, now: .now())
        #expect(output.response?.code == .created)
        #expect(output.events.count == 1)
        #expect(output.events.first?.json.jsonText.hasPrefix(#"{"event":"registered","endpoint":"dev1""#) == true)
    }
}

/// The server example of docs/ServerKit.md, compiled (not run: it serves forever).
func serverDocExample() async throws {
    let registry = LwM2MRegistry.builtIn
    let transport = try await CoAPUDPTransport.bind(host: "0.0.0.0", port: 5683)
    let server = LwM2MServer(transport: transport, definitions: registry, codec: LwM2MCodec(definitions: registry))
    await server.start()
    for await event in server.events {
        if case .registered(let registration, _) = event {
            let battery = try await server.read(endpoint: registration.endpoint, path: .resource(3, 0, 9))
            print(battery)
        }
    }
}
