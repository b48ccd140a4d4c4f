import ClientKit
import LwM2MModel
import Testing

@Suite("Server accounts, URIs, PEM and access rights")
struct ServerAccountTests {
    @Test("Security and Server instances pair by Short Server ID; bootstrap accounts come last")
    func pairing() throws {
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installSecurity(
            in: tree, instanceID: 0, serverURI: "coaps://b.example:5684", shortServerID: 7, mode: .preSharedKey,
            publicKeyOrIdentity: Array("id".utf8), secretKey: [1, 2, 3])
        try LwM2MStandardObjects.installSecurity(in: tree, instanceID: 1, serverURI: "coap://a.example", shortServerID: 3)
        try LwM2MStandardObjects.installSecurity(
            in: tree, instanceID: 2, serverURI: "coap://bs.example:5783", shortServerID: 0, isBootstrapServer: true)
        // SSID 9 has no Server instance: not an account.
        try LwM2MStandardObjects.installSecurity(in: tree, instanceID: 3, serverURI: "coap://c.example", shortServerID: 9)
        // A second Security instance for SSID 3 and one for the reserved 65535: ignored.
        try LwM2MStandardObjects.installSecurity(in: tree, instanceID: 5, serverURI: "coap://dup.example", shortServerID: 3)
        try LwM2MStandardObjects.installSecurity(in: tree, instanceID: 6, serverURI: "coap://max.example", shortServerID: 65535)
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 6, shortServerID: 65535, lifetime: 60)
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 0, shortServerID: 3, lifetime: 60, binding: "UQ")
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 4, shortServerID: 7, lifetime: 90)
        let accounts = LwM2MServerAccount.accounts(in: tree)
        #expect(accounts.map(\.shortServerID) == [3, 7, 0])
        #expect(accounts[0].serverInstanceID == 0)
        #expect(accounts[0].securityInstanceID == 1)
        #expect(accounts[0].serverURI == "coap://a.example")
        #expect(accounts[0].lifetime == 60)
        #expect(accounts[0].binding == "UQ")
        #expect(accounts[0].securityMode == .noSecurity)
        #expect(accounts[1].serverInstanceID == 4)
        #expect(accounts[1].securityMode == .preSharedKey)
        #expect(accounts[1].pskIdentity == "id")
        #expect(accounts[1].secretKey == [1, 2, 3])
        #expect(accounts[2].isBootstrapServer)
        #expect(accounts[2].serverInstanceID == nil)
        #expect(!accounts[1].description.contains("1, 2, 3"))
    }

    @Test("Server URIs: schemes, default ports, IPv6 literals, errors", arguments: [
        ("coap://host", "coap", "host", 5683),
        ("coaps://host", "coaps", "host", 5684),
        ("COAPS://10.0.0.1:6000/path", "coaps", "10.0.0.1", 6000),
        ("coap://[::1]:5690", "coap", "::1", 5690),
        ("coaps://[fe80::1]", "coaps", "fe80::1", 5684),
    ])
    func uris(text: String, scheme: String, host: String, port: Int) throws {
        let uri = try LwM2MServerURI(parsing: text)
        #expect(uri.scheme == scheme)
        #expect(uri.host == host)
        #expect(uri.port == port)
    }

    @Test("Bad server URIs are rejected", arguments: ["http://host", "coap://", "coap://h:0", "coap://h:x", "coap://[::1"])
    func badURIs(text: String) {
        #expect(throws: LwM2MClientError.badRequest("")) { try LwM2MServerURI(parsing: text) }
    }

    @Test("PEM round trip; private keys get the label their DER structure asks for")
    func pem() throws {
        let der: [UInt8] = Array(0..<200)
        let text = LwM2MPEM.pem(fromDER: der, label: "CERTIFICATE")
        #expect(text.hasPrefix("-----BEGIN CERTIFICATE-----\n"))
        #expect(text.split(separator: "\n").dropFirst().first?.count == 64)
        #expect(try LwM2MPEM.der(fromPEM: text) == der)
        #expect(try LwM2MPEM.der(fromPEM: "junk\n" + text + text, label: "CERTIFICATE") == der)
        #expect(throws: LwM2MClientError.badRequest("")) { try LwM2MPEM.der(fromPEM: "-----BEGIN X-----\nAAAA\n") }
        #expect(throws: LwM2MClientError.badRequest("")) { try LwM2MPEM.der(fromPEM: "no pem here") }
        // SEC 1: SEQUENCE { INTEGER 1, OCTET STRING ... }; PKCS #8: SEQUENCE { INTEGER 0, SEQUENCE ... }.
        let sec1: [UInt8] = [0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20] + Array(repeating: 7, count: 32)
        let pkcs8: [UInt8] = [0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13] + Array(repeating: 7, count: 32)
        #expect(LwM2MPEM.privateKeyPEM(fromDER: sec1).hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
        #expect(LwM2MPEM.privateKeyPEM(fromDER: pkcs8).hasPrefix("-----BEGIN PRIVATE KEY-----"))
    }

    @Test("Access rights: bits and letters")
    func rights() {
        #expect(LwM2MAccessRights(letters: "rwe") == [.read, .write, .execute])
        #expect(LwM2MAccessRights(letters: "RWEDC")?.rawValue == 31)
        #expect(LwM2MAccessRights(letters: "RX") == nil)
        #expect(LwM2MAccessRights.owner.description == "RWED-")
    }

    @Test("Access Control rules: own entry over ownership over the default; single server has everything")
    func rules() throws {
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 0, shortServerID: 1, lifetime: 60)
        try LwM2MStandardObjects.installDevice(in: tree)
        let one = LwM2MAccessControl(tree: tree, shortServerID: 1)
        let two = LwM2MAccessControl(tree: tree, shortServerID: 2)
        #expect(!one.isEnforced)
        #expect(one.rights(objectID: 3, instanceID: 0).contains(.owner))
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 1, shortServerID: 2, lifetime: 60)
        #expect(two.isEnforced)
        // No Access Control instance: nobody has rights.
        #expect(two.rights(objectID: 3, instanceID: 0) == [])
        try LwM2MAccessControl.setRights(in: tree, objectID: 3, instanceID: 0, owner: 1, acl: [0: .read])
        #expect(one.rights(objectID: 3, instanceID: 0) == .owner)
        #expect(two.rights(objectID: 3, instanceID: 0) == .read)
        try LwM2MAccessControl.setRights(in: tree, objectID: 3, instanceID: 0, owner: 1, acl: [0: .read, 1: .read, 2: .execute])
        #expect(one.rights(objectID: 3, instanceID: 0) == .read)  // its own entry wins over ownership
        #expect(two.rights(objectID: 3, instanceID: 0) == .execute)
        #expect(throws: LwM2MClientError(code: .unauthorized, reason: "")) { try two.authorize(.read, .resource(3, 0, 0)) }
        try two.authorize(.execute, .resource(3, 0, 4))
        #expect(throws: LwM2MClientError(code: .unauthorized, reason: "")) { try one.authorize(.read, .instance(0, 0)) }
        #expect(!two.mayCreate(objectID: 3303))
        try LwM2MAccessControl.setRights(in: tree, objectID: 3303, instanceID: 65535, owner: 65535, acl: [2: .create])
        #expect(two.mayCreate(objectID: 3303))
        #expect(!one.mayCreate(objectID: 3303))
        // With object 2 present, a Server instance added later is owned by its own server.
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 2, shortServerID: 3, lifetime: 60)
        let three = LwM2MAccessControl(tree: tree, shortServerID: 3)
        #expect(three.rights(objectID: 1, instanceID: 2) == .owner)
        #expect(two.rights(objectID: 1, instanceID: 2) == [])
    }
}
