import ClientKit
import LwM2MModel
import Testing

@Suite("Access Control after a server account is removed")
struct AccessControlAccountRemovalTests {
    /// Server accounts SSID 1 (/0/0, /1/0) and SSID 2 (/0/1, /1/1), Device and a temperature sensor. Access
    /// Control: everything owned by server 1 and each /1/y by its own server; both servers may create sensors;
    /// the sensor /3303/0 was created by server 2 (owner 2, Read for server 1); server 2 may read the Device.
    static func twoServerTree() throws -> LwM2MObjectTree {
        let tree = LwM2MObjectTree(definitions: LwM2MRegistry.builtIn)
        try LwM2MStandardObjects.installSecurity(in: tree, instanceID: 0, serverURI: "coap://one.example", shortServerID: 1)
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 0, shortServerID: 1, lifetime: 300)
        try LwM2MStandardObjects.installSecurity(in: tree, instanceID: 1, serverURI: "coap://two.example", shortServerID: 2)
        try LwM2MStandardObjects.installServer(in: tree, instanceID: 1, shortServerID: 2, lifetime: 300)
        try LwM2MStandardObjects.installDevice(in: tree)
        _ = try LwM2MTemperatureSensor(tree: tree)
        try LwM2MStandardObjects.installAccessControl(in: tree, owner: 1, creators: [1, 2])
        try LwM2MAccessControl.setRights(in: tree, objectID: 3303, instanceID: 0, owner: 2, acl: [1: .read])
        try LwM2MAccessControl.setRights(in: tree, objectID: 3, instanceID: 0, owner: 1, acl: [2: .read])
        return tree
    }

    /// Every Access Control instance as (object, instance) -> (owner, ACL).
    static func controls(_ tree: LwM2MObjectTree) -> [String: String] {
        let control = LwM2MAccessControl(tree: tree, shortServerID: 1)
        var result: [String: String] = [:]
        for x in tree.instanceIDs(of: 2) {
            let target = "\(integer(tree.value(at: .resource(2, x, 0))))/\(integer(tree.value(at: .resource(2, x, 1))))"
            let acl = control.acl(ofControlInstance: x).sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.rawValue)" }
            result[target] = "owner \(control.owner(ofControlInstance: x) ?? 0) acl [\(acl.joined(separator: ","))]"
        }
        return result
    }

    static func integer(_ value: LwM2MValue?) -> Int64 {
        if case .integer(let v)? = value { return v }
        return -1
    }

    @Test("Bootstrap-Delete of /1/1 removes server 2's ACL entries, its Access Control instances and the sensor it owned")
    func bootstrapDeleteOfAnAccount() throws {
        let tree = try Self.twoServerTree()
        let deleted = try tree.bootstrapDelete(.instance(1, 1))

        #expect(tree.instanceIDs(of: 1) == [0])
        #expect(tree.instanceIDs(of: 3303).isEmpty)  // orphaned: no remaining server owned it
        #expect(tree.instanceIDs(of: 3) == [0])
        #expect(Set(deleted.filter { $0.objectID != 2 }) == [.instance(1, 1), .instance(3303, 0)])
        #expect(deleted.filter { $0.objectID == 2 }.count == 2)  // the Access Control instances of /1/1 and /3303/0
        #expect(Self.controls(tree) == [
            "1/0": "owner 1 acl []",
            "3/0": "owner 1 acl []",
            "3303/65535": "owner 65535 acl [1:16]",
            "3/65535": "owner 65535 acl [1:16]",
        ])
    }

    @Test("Removing server 1's account keeps the Device (its Access Control instance stays) and what server 2 owns")
    func removingTheDeviceOwner() throws {
        let tree = try Self.twoServerTree()
        try tree.deleteInstance(1, 0)
        let deleted = try LwM2MAccessControl.removeServerAccount(shortServerID: 1, from: tree)

        #expect(tree.instanceIDs(of: 3) == [0])
        #expect(tree.instanceIDs(of: 3303) == [0])
        #expect(deleted.count == 1 && deleted.first?.objectID == 2)  // the Access Control instance of /1/0
        #expect(Self.controls(tree) == [
            "1/1": "owner 2 acl []",
            "3/0": "owner 1 acl [2:1]",
            "3303/0": "owner 2 acl []",
            "3303/65535": "owner 65535 acl [2:16]",
            "3/65535": "owner 65535 acl [2:16]",
        ])
    }

    @Test("Nothing changes while another Server instance still has the Short Server ID")
    func sameIDStillPresent() throws {
        let tree = try Self.twoServerTree()
        let before = Self.controls(tree)
        #expect(try LwM2MAccessControl.removeServerAccount(shortServerID: 2, from: tree).isEmpty)
        #expect(Self.controls(tree) == before)
        #expect(tree.instanceIDs(of: 3303) == [0])
    }
}
