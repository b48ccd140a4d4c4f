import Foundation
import LwM2MModel
import Testing

@Suite("Security store and security file")
struct LwM2MSecurityStoreTests {
    static let goodFile = """
        {
          "noSecForUnknownEndpoints": false,
          "endpoints": {
            "dev1": {"psk": {"identity": "dev1-id", "key": "000102030405060708090a0b0c0d0e0f"}},
            "dev2": {"x509": {"commonName": "device-2"}},
            "dev3": {"psk": {"identity": "dev3", "key": "73656372657433"}, "noSec": true},
            "dev4": {"noSec": true},
            "dev5": {"x509": {}}
          }
        }
        """

    @Test("a good file parses into entries sorted by endpoint, with decoded keys")
    func goodFile() throws {
        let file = try LwM2MSecurityFile.parse(Data(Self.goodFile.utf8))
        #expect(file.noSecForUnknownEndpoints == false)
        #expect(file.entries.map(\.endpoint) == ["dev1", "dev2", "dev3", "dev4", "dev5"])
        #expect(file.entries[0] == .psk(endpoint: "dev1", identity: "dev1-id", key: Array(0...15)))
        #expect(file.entries[1] == .certificate(endpoint: "dev2", commonName: "device-2"))
        #expect(file.entries[2].psk?.key == Array("secret3".utf8))
        #expect(file.entries[2].allowsNoSec)
        #expect(file.entries[3] == .noSec(endpoint: "dev4"))
        #expect(file.entries[4].certificateCommonName == "dev5")
        #expect(file.entries[2].modes == "psk, nosec")
    }

    @Test(
        "each bad field is named",
        arguments: [
            (#"{"endpoints": {"d": {"psk": {"identity": "i", "key": "abc"}}}}"#, "endpoints.d.psk.key", "invalidValue"),
            (#"{"endpoints": {"d": {"psk": {"identity": "i", "key": "zz"}}}}"#, "endpoints.d.psk.key", "invalidValue"),
            (#"{"endpoints": {"d": {"psk": {"identity": "i", "key": ""}}}}"#, "endpoints.d.psk.key", "invalidValue"),
            (#"{"endpoints": {"d": {"psk": {"identity": "", "key": "00"}}}}"#, "endpoints.d.psk.identity", "invalidValue"),
            (#"{"endpoints": {"d": {"psk": {"key": "00"}}}}"#, "endpoints.d.psk.identity", "missingField"),
            (#"{"endpoints": {"d": {"psk": {"identity": "i"}}}}"#, "endpoints.d.psk.key", "missingField"),
            (#"{"endpoints": {"d": {"psk": {"identity": 7, "key": "00"}}}}"#, "endpoints.d.psk.identity", "wrongType"),
            (#"{"endpoints": {"d": {"psk": {"identity": "i", "key": "00", "hint": "x"}}}}"#, "endpoints.d.psk.hint",
             "unknownField"),
            (#"{"endpoints": {"d": {"x509": {"commonName": ""}}}}"#, "endpoints.d.x509.commonName", "invalidValue"),
            (#"{"endpoints": {"d": {"x509": {"cn": "x"}}}}"#, "endpoints.d.x509.cn", "unknownField"),
            (#"{"endpoints": {"d": {"noSec": "yes"}}}"#, "endpoints.d.noSec", "wrongType"),
            (#"{"endpoints": {"d": {}}}"#, "endpoints.d", "missingField"),
            (#"{"endpoints": {"d": {"rpk": {}}}}"#, "endpoints.d.rpk", "unknownField"),
            (#"{"endpoints": {"": {"noSec": true}}}"#, "endpoints.", "invalidValue"),
            (#"{"endpoints": []}"#, "endpoints", "wrongType"),
            (#"{"noSecForUnknownEndpoints": 1}"#, "noSecForUnknownEndpoints", "wrongType"),
            (#"{"devices": {}}"#, "devices", "unknownField"),
            (#"{"endpoints": {"#, "", "invalidJSON"),
            (
                #"{"endpoints": {"a": {"psk": {"identity": "same", "key": "00"}}, "b": {"psk": {"identity": "same", "key": "01"}}}}"#,
                "endpoints.b.psk.identity", "duplicateIdentity"
            ),
        ])
    func badField(text: String, field: String, code: String) {
        do {
            _ = try LwM2MSecurityFile.parse(Data(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.field == field, "\(error)")
            #expect(error.code.name == code, "\(error)")
            #expect(field.isEmpty || error.description.contains(field))
        }
    }

    @Test("a key longer than 64 bytes is refused")
    func longKey() {
        let text = #"{"endpoints": {"d": {"psk": {"identity": "i", "key": "\#(String(repeating: "ab", count: 65))"}}}}"#
        #expect(throws: LwM2MSecurityError(code: .invalidValue, field: "", reason: "")) {
            try LwM2MSecurityFile.parse(Data(text.utf8))
        }
    }

    @Test("an unreadable file names its path")
    func unreadable() {
        do {
            _ = try LwM2MSecurityFile.load(path: "/nonexistent/security.json")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.code == .unreadable)
            #expect(error.reason.contains("/nonexistent/security.json"))
        }
    }

    @Test("lookups by endpoint and by PSK identity; replace and remove keep both maps consistent")
    func lookups() throws {
        let store = try LwM2MInMemorySecurityStore([
            .psk(endpoint: "dev1", identity: "id1", key: [1]), .certificate(endpoint: "dev2"),
        ])
        #expect(store.securityInfo(endpoint: "dev1")?.psk?.identity == "id1")
        #expect(store.securityInfo(pskIdentity: "id1")?.endpoint == "dev1")
        #expect(store.pskKey(identity: "id1") == [1])
        #expect(store.pskKey(identity: "dev2") == nil)
        #expect(store.securityInfo(pskIdentity: "nobody") == nil)

        try store.add(.psk(endpoint: "dev1", identity: "id1b", key: [2]))
        #expect(store.securityInfo(pskIdentity: "id1") == nil)
        #expect(store.pskKey(identity: "id1b") == [2])
        #expect(throws: LwM2MSecurityError(code: .duplicateIdentity, field: "", reason: "")) {
            try store.add(.psk(endpoint: "dev3", identity: "id1b", key: [3]))
        }
        #expect(store.remove(endpoint: "dev1")?.endpoint == "dev1")
        #expect(store.securityInfo(pskIdentity: "id1b") == nil)
        #expect(store.all().map(\.endpoint) == ["dev2"])
    }

    @Test("authorize: own identity only; NoSec only where allowed; unknown endpoints follow the store's policy")
    func authorize() throws {
        let store = try LwM2MSecurityFile.parse(Data(Self.goodFile.utf8)).makeStore()
        #expect(store.authorize(endpoint: "dev1", credential: .psk(identity: "dev1-id")) == .allowed)
        #expect(!store.authorize(endpoint: "dev3", credential: .psk(identity: "dev1-id")).isAllowed)
        #expect(!store.authorize(endpoint: "dev1", credential: nil).isAllowed)
        #expect(!store.authorize(endpoint: "dev1", credential: .certificate(commonName: "dev1")).isAllowed)
        #expect(store.authorize(endpoint: "dev2", credential: .certificate(commonName: "device-2")) == .allowed)
        #expect(!store.authorize(endpoint: "dev2", credential: .certificate(commonName: "dev2")).isAllowed)
        #expect(store.authorize(endpoint: "dev3", credential: nil) == .allowed)
        #expect(store.authorize(endpoint: "dev3", credential: .psk(identity: "dev3")) == .allowed)
        #expect(store.authorize(endpoint: "dev4", credential: nil) == .allowed)
        #expect(!store.authorize(endpoint: "dev4", credential: .psk(identity: "dev1-id")).isAllowed)
        // This file refuses NoSec for endpoints it does not list; the default store allows it (Leshan's way).
        #expect(!store.authorize(endpoint: "other", credential: nil).isAllowed)
        #expect(try LwM2MInMemorySecurityStore().authorize(endpoint: "other", credential: nil) == .allowed)
        guard case .denied(let reason) = store.authorize(endpoint: "dev3", credential: .psk(identity: "dev1-id")) else {
            Issue.record("allowed")
            return
        }
        #expect(reason == "PSK identity dev1-id does not belong to endpoint dev3")
    }

    @Test(
        "--psk ENDPOINT:IDENTITY:HEXKEY, with colons in names",
        arguments: [
            ("dev1:id1:0a0B", "dev1", "id1", [UInt8]([0x0A, 0x0B])),
            ("urn:imei:1:urn:imei:1:00", "urn:imei:1", "urn:imei:1", [0]),
        ])
    func pskArgument(text: String, endpoint: String, identity: String, key: [UInt8]) throws {
        #expect(try LwM2MSecurityInfo(pskArgument: text) == .psk(endpoint: endpoint, identity: identity, key: key))
    }

    @Test("bad --psk arguments", arguments: ["dev1:00", "urn:imei:1:other:00", ":id:00", "dev:id:0g", "dev::00"])
    func badPSKArgument(text: String) {
        #expect(throws: LwM2MSecurityError(code: .invalidValue, field: "psk", reason: "")) {
            try LwM2MSecurityInfo(pskArgument: text)
        }
    }
}
