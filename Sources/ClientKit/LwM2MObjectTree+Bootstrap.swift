public import LwM2MModel

/// The Bootstrap Interface operations on the object tree (LwM2M Core TS 1.1.1 5.2.7 / 6.1.7): what the client
/// does when its bootstrap server writes, reads, deletes and discovers, and the consistency check it runs on
/// Bootstrap-Finish. Pure functions of the tree; `LwM2MBootstrapClient` maps CoAP requests onto them.
extension LwM2MObjectTree {
    /// The Security (/0) instance of the bootstrap-server account (/0/x/1 Bootstrap-Server true), if any.
    public var bootstrapSecurityInstance: UInt16? {
        instanceIDs(of: 0).first { value(at: .resource(0, $0, 1)) == .boolean(true) }
    }

    /// Bootstrap-Write: writes `node` at `path` (an object, object instance, resource or resource instance),
    /// creating the object (from the definitions) and the instances as needed and ignoring the resources'
    /// access rights. Resources not in the payload keep their values; resources unknown to the definition are
    /// skipped in an object or instance write (4.04 when a resource path names one).
    public func bootstrapWrite(_ node: LwM2MNode, at path: LwM2MPath) throws(LwM2MClientError) {
        guard let objectID = path.objectID else { throw .methodNotAllowed("Bootstrap-Write on /", path) }
        if definition(of: objectID) == nil {
            guard definitions.objectDefinition(objectID, version: nil) != nil else { throw .notFound(path) }
            try addObject(objectID)
        }
        switch (path.level, node) {
        case (.object, .object(let object)):
            guard object.id == objectID else { throw .badRequest("payload is for object \(object.id)", path) }
            for instance in object.instances { try bootstrapWrite(instance, objectID: objectID) }
        case (.object, .objectInstance(let instance)):
            try bootstrapWrite(instance, objectID: objectID)
        case (.objectInstance, .objectInstance(let instance)):
            guard instance.id == path.instanceID else { throw .badRequest("payload is for instance \(instance.id)", path) }
            try bootstrapWrite(instance, objectID: objectID)
        case (.objectInstance, .object(let object)):
            guard object.instances.count == 1, let instance = object.instances.first, instance.id == path.instanceID
            else { throw .badRequest("payload does not match \(path)", path) }
            try bootstrapWrite(instance, objectID: objectID)
        case (.resource, .resource), (.resourceInstance, .resourceInstance):
            let instanceID = path.instanceID!
            if !instanceIDs(of: objectID).contains(instanceID) {
                _ = try createInstance(objectID, id: instanceID, resources: [], checkWritable: false)
            }
            try write(node, at: path, replace: false, checkWritable: false)
        default:
            throw .badRequest("payload does not match \(path)", path)
        }
    }

    private func bootstrapWrite(_ instance: LwM2MObjectInstance, objectID: UInt16) throws(LwM2MClientError) {
        // Resources the client does not know are not an error in an object or instance write (Core TS 1.1.1
        // 6.1.7.6): they are left out.
        var instance = instance
        if let definition = definition(of: objectID) {
            instance.resources = instance.resources.filter { definition.resource($0.id) != nil }
        }
        if instanceIDs(of: objectID).contains(instance.id) {
            try write(.objectInstance(instance), at: .instance(objectID, instance.id), replace: false, checkWritable: false)
        } else {
            _ = try createInstance(objectID, id: instance.id, resources: instance.resources, checkWritable: false)
        }
    }

    /// Bootstrap-Read (LwM2M 1.1): only the Server (1) and Access Control (2) objects or their instances may be
    /// read; anything else is 4.00 Bad Request.
    public func bootstrapRead(_ path: LwM2MPath) throws(LwM2MClientError) -> LwM2MNode {
        guard let objectID = path.objectID, objectID == 1 || objectID == 2, path.level <= .objectInstance else {
            throw .badRequest("Bootstrap-Read is limited to the Server and Access Control objects", path)
        }
        return try read(path)
    }

    /// Bootstrap-Delete of `/`, an object or an instance. The bootstrap-server account's Security instance and
    /// the Device object's instance are kept when `/` or their object is deleted; naming them directly is 4.00.
    /// Deleting what does not exist succeeds (the operation's only error is 4.00). A deleted instance's Access Control
    /// instance goes with it, and a deleted Server instance's account is cleaned out of Access Control
    /// (``LwM2MAccessControl/removeServerAccount(shortServerID:from:)``). Returns the deleted paths.
    @discardableResult
    public func bootstrapDelete(_ path: LwM2MPath) throws(LwM2MClientError) -> [LwM2MPath] {
        let bootstrapInstance = bootstrapSecurityInstance
        func protected(_ objectID: UInt16, _ instanceID: UInt16) -> Bool {
            (objectID == 0 && instanceID == bootstrapInstance) || objectID == 3
        }
        var targets: [(UInt16, UInt16)] = []
        switch path.level {
        case .root:
            for o in objectIDs { for i in instanceIDs(of: o) where !protected(o, i) { targets.append((o, i)) } }
        case .object:
            let o = path.objectID!
            guard o != 3 else { throw .badRequest("the Device object cannot be deleted", path) }
            for i in instanceIDs(of: o) where !protected(o, i) { targets.append((o, i)) }
        case .objectInstance:
            let (o, i) = (path.objectID!, path.instanceID!)
            guard !protected(o, i) else { throw .badRequest("\(path) cannot be deleted in bootstrap", path) }
            if instanceIDs(of: o).contains(i) { targets.append((o, i)) }
        default:
            throw .badRequest("Bootstrap-Delete needs /, an object or an instance", path)
        }
        // The Short Server IDs of the server accounts that go, for the Access Control clean-up afterwards.
        let removedServers = targets.compactMap { o, i -> UInt16? in
            guard o == 1 else { return nil }
            return LwM2MServerAccount.integer(value(at: .resource(1, i, 0))).flatMap { UInt16(exactly: $0) }
        }
        var deleted: [LwM2MPath] = []
        for (o, i) in targets where contains(.instance(o, i)) {
            try deleteInstance(o, i)
            deleted.append(.instance(o, i))
            if o != LwM2MAccessControl.objectID,
               let x = LwM2MAccessControl(tree: self, shortServerID: 0).controlInstance(objectID: o, instanceID: i) {
                try deleteInstance(LwM2MAccessControl.objectID, x)
                deleted.append(.instance(LwM2MAccessControl.objectID, x))
            }
        }
        for ssid in removedServers {
            deleted += try LwM2MAccessControl.removeServerAccount(shortServerID: ssid, from: self)
        }
        return deleted
    }

    /// Bootstrap-Discover of `/` or an object: link format starting with `</>;lwm2m=VERSION`, then each object
    /// (with `ver=` when it is not 1.0) and instance; Security instances carry `ssid` (server accounts) and
    /// `uri`, Server instances `ssid` (Core TS 1.1.1 5.2.7.1).
    public func bootstrapDiscover(_ path: LwM2MPath, version: String) throws(LwM2MClientError) -> String {
        let objects: [UInt16]
        switch path.level {
        case .root: objects = objectIDs
        case .object:
            guard definition(of: path.objectID!) != nil else { throw .notFound(path) }
            objects = [path.objectID!]
        default: throw .badRequest("Bootstrap-Discover needs / or an object", path)
        }
        var links = ["</>;lwm2m=\(version)"]
        for o in objects {
            guard let definition = definition(of: o) else { continue }
            let instances = instanceIDs(of: o)
            let ver = definition.objectVersion != "1.0" ? ";ver=\(definition.objectVersion)" : ""
            if instances.isEmpty || !ver.isEmpty { links.append("</\(o)>\(ver)") }
            for i in instances {
                var link = "</\(o)/\(i)>"
                if o == 0 || o == 1 {
                    let isBootstrap = o == 0 && value(at: .resource(0, i, 1)) == .boolean(true)
                    if !isBootstrap, case .integer(let ssid) = value(at: .resource(o, i, o == 0 ? 10 : 0)) {
                        link += ";ssid=\(ssid)"
                    }
                    if o == 0, case .string(let uri) = value(at: .resource(0, i, 0)) {
                        link += ";uri=\"\(uri.replacingQuoted())\""
                    }
                }
                links.append(link)
            }
        }
        return links.joined(separator: ",")
    }

    /// The Bootstrap-Finish check: the configuration the bootstrap server left must be usable. Returns the
    /// problems found (empty when the client can register): at most one bootstrap-server account; at least one
    /// Server instance; every Server instance has a unique Short Server ID and a Security instance with it;
    /// every non-bootstrap Security instance has a URI, a Short Server ID and a known Security Mode, and PSK
    /// mode has an identity and a key.
    public func bootstrapConsistencyProblems() -> [String] {
        var problems: [String] = []
        let security = instanceIDs(of: 0)
        let bootstrapAccounts = security.filter { value(at: .resource(0, $0, 1)) == .boolean(true) }
        if bootstrapAccounts.count > 1 { problems.append("several bootstrap-server accounts: /0/\(bootstrapAccounts)") }
        var securitySSIDs: [Int64: UInt16] = [:]
        for i in security where !bootstrapAccounts.contains(i) {
            guard case .string(let uri) = value(at: .resource(0, i, 0)), !uri.isEmpty else {
                problems.append("/0/\(i) has no LwM2M Server URI")
                continue
            }
            guard case .integer(let ssid) = value(at: .resource(0, i, 10)), (1...65_534).contains(ssid) else {
                problems.append("/0/\(i) has no valid Short Server ID")
                continue
            }
            if let other = securitySSIDs[ssid] { problems.append("/0/\(other) and /0/\(i) share Short Server ID \(ssid)") }
            securitySSIDs[ssid] = i
            guard case .integer(let mode) = value(at: .resource(0, i, 2)), (0...4).contains(mode) else {
                problems.append("/0/\(i) has no valid Security Mode")
                continue
            }
            if mode == 0 {
                let identity = value(at: .resource(0, i, 3))
                let key = value(at: .resource(0, i, 5))
                if identity == nil || identity == .opaque([]) || key == nil || key == .opaque([]) {
                    problems.append("/0/\(i) is in PSK mode without an identity or a key")
                }
            }
        }
        let servers = instanceIDs(of: 1)
        if servers.isEmpty { problems.append("no LwM2M Server account (/1 has no instance)") }
        var serverSSIDs: Set<Int64> = []
        for i in servers {
            guard case .integer(let ssid) = value(at: .resource(1, i, 0)), (1...65_534).contains(ssid) else {
                problems.append("/1/\(i) has no valid Short Server ID")
                continue
            }
            if !serverSSIDs.insert(ssid).inserted { problems.append("two Server instances with Short Server ID \(ssid)") }
            if securitySSIDs[ssid] == nil { problems.append("/1/\(i) (ssid \(ssid)) has no Security instance") }
        }
        return problems
    }
}

extension String {
    /// The text with `\` and `"` escaped for a quoted link-format attribute value.
    fileprivate func replacingQuoted() -> String {
        var out = ""
        for c in self {
            if c == "\\" || c == "\"" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
