public import CoAPCore
public import LwM2MModel
import NIOCore

/// The access rights of an ACL resource instance (/2/x/2/ssid, Core TS E.3): one bit per operation.
public struct LwM2MAccessRights: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The bits.
    public let rawValue: UInt16

    /// Creates rights from the ACL value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// R: Read, Observe, Discover and Write-Attributes.
    public static let read = LwM2MAccessRights(rawValue: 1)
    /// W: Write.
    public static let write = LwM2MAccessRights(rawValue: 2)
    /// E: Execute.
    public static let execute = LwM2MAccessRights(rawValue: 4)
    /// D: Delete.
    public static let delete = LwM2MAccessRights(rawValue: 8)
    /// C: Create (only meaningful in the ACL of the instance-65535 entry of an object).
    public static let create = LwM2MAccessRights(rawValue: 16)
    /// Read, Write, Execute and Delete: what the Access Control Owner holds without an ACL entry of its own.
    public static let owner: LwM2MAccessRights = [.read, .write, .execute, .delete]

    /// `RWEDC` letters, `-` for an absent right.
    public var description: String {
        zip("RWEDC", [Self.read, .write, .execute, .delete, .create]).map { contains($0.1) ? String($0.0) : "-" }
            .joined()
    }

    /// Parses letters such as `RWE` (case-insensitive; `-` ignored).
    public init?(letters: String) {
        var rights: LwM2MAccessRights = []
        for c in letters.uppercased() {
            switch c {
            case "R": rights.insert(.read)
            case "W": rights.insert(.write)
            case "E": rights.insert(.execute)
            case "D": rights.insert(.delete)
            case "C": rights.insert(.create)
            case "-": break
            default: return nil
            }
        }
        self = rights
    }
}

/// Access Control (object 2) as Core TS section 7.3 defines it, evaluated on an `LwM2MObjectTree`.
///
/// Enforced only when more than one server account (Server object instance) exists; a single server has full
/// access. The rules:
/// - every object instance (other than Access Control instances) has one Access Control instance naming it in
///   /2/x/0 and /2/x/1; its ACL resource (/2/x/2) holds rights per Short Server ID (resource instance ID), with
///   resource instance 0 as the default for servers without an entry of their own;
/// - the Access Control Owner (/2/x/3) without an ACL entry of its own has Read, Write, Execute and Delete;
///   a server with neither an entry, nor ownership, nor a default entry has no rights;
/// - Create on an object needs the C bit in the Access Control instance for (object, 65535);
/// - the creating server becomes the owner of the new instance's Access Control instance; deleting an
///   instance removes its Access Control instance; removing a server account removes that server's ACL
///   entries and what it owned (``removeServerAccount(shortServerID:from:)``);
/// - Access Control instances are readable by every server and writable only by their owner; servers cannot
///   create or delete them;
/// - the Security object (0) is never reachable through the Device Management interface;
/// - an operation without the right answers 4.01 Unauthorized; Read/Discover of a whole object only shows the
///   instances the server may read.
public struct LwM2MAccessControl: Sendable {
    /// The Access Control object's ID.
    public static let objectID: UInt16 = 2
    /// The instance ID that stands for "Create on the object" in /2/x/1.
    public static let createInstanceID: UInt16 = 65535

    /// A Device Management operation as access control sees it.
    public enum Operation: Hashable, Sendable {
        /// Read (GET).
        case read
        /// Observe (GET with Observe 0).
        case observe
        /// Discover (GET with Accept link-format).
        case discover
        /// Write-Attributes (PUT with only a query).
        case writeAttributes
        /// Write (PUT, or POST on an instance).
        case write
        /// Execute (POST on a resource).
        case execute
        /// Create (POST on an object).
        case create
        /// Delete.
        case delete

        /// The right the operation needs.
        public var requiredRight: LwM2MAccessRights {
            switch self {
            case .read, .observe, .discover, .writeAttributes: return .read
            case .write: return .write
            case .execute: return .execute
            case .create: return .create
            case .delete: return .delete
            }
        }
    }

    /// The tree holding objects 1 and 2.
    public let tree: LwM2MObjectTree
    /// The server whose requests are checked.
    public let shortServerID: UInt16

    /// Checks requests of server `shortServerID` against `tree`.
    public init(tree: LwM2MObjectTree, shortServerID: UInt16) {
        self.tree = tree
        self.shortServerID = shortServerID
    }

    /// Whether access control applies: more than one server account exists (Core TS 7.3: with a single
    /// account that server has full access).
    public var isEnforced: Bool { tree.instanceIDs(of: 1).count > 1 }

    /// The operation a DM request stands for.
    public static func operation(of message: CoAPMessage, at path: LwM2MPath) -> Operation? {
        switch message.code {
        case .get:
            if message.accept == .linkFormat { return .discover }
            return message.observe == 0 ? .observe : .read
        case .put:
            return message.payload.readableBytes == 0 && !message.uriQuery.isEmpty ? .writeAttributes : .write
        case .post:
            switch path.level {
            case .object: return .create
            case .objectInstance: return .write
            default: return .execute
            }
        case .delete: return .delete
        case .fetch: return .read
        case .iPatch: return .write
        default: return nil
        }
    }

    // MARK: - Rules

    /// The Access Control instance governing (`objectID`, `instanceID`), if any.
    public func controlInstance(objectID: UInt16, instanceID: UInt16) -> UInt16? {
        tree.instanceIDs(of: Self.objectID).first {
            LwM2MServerAccount.integer(tree.value(at: .resource(Self.objectID, $0, 0))) == Int64(objectID)
                && LwM2MServerAccount.integer(tree.value(at: .resource(Self.objectID, $0, 1))) == Int64(instanceID)
        }
    }

    /// The owner (/2/x/3) of an Access Control instance.
    public func owner(ofControlInstance x: UInt16) -> UInt16? {
        LwM2MServerAccount.integer(tree.value(at: .resource(Self.objectID, x, 3))).flatMap { UInt16(exactly: $0) }
    }

    /// The ACL entries (/2/x/2) of an Access Control instance, keyed by Short Server ID (0: default).
    public func acl(ofControlInstance x: UInt16) -> [UInt16: LwM2MAccessRights] {
        guard case .resource(let r)? = try? tree.read(.resource(Self.objectID, x, 2), checkReadable: false),
              let instances = r.instances else { return [:] }
        var result: [UInt16: LwM2MAccessRights] = [:]
        for ri in instances {
            if let v = LwM2MServerAccount.integer(ri.value) { result[ri.id] = LwM2MAccessRights(rawValue: UInt16(truncatingIfNeeded: v)) }
        }
        return result
    }

    /// The rights of this server on an object instance (Core TS 7.3.2): its own ACL entry, else full rights as
    /// owner, else the default entry, else none. Without enforcement: every right.
    public func rights(objectID: UInt16, instanceID: UInt16) -> LwM2MAccessRights {
        guard isEnforced else { return [.owner, .create] }
        guard let x = controlInstance(objectID: objectID, instanceID: instanceID) else { return [] }
        let acl = acl(ofControlInstance: x)
        if let own = acl[shortServerID] { return own }
        if owner(ofControlInstance: x) == shortServerID { return .owner }
        return acl[0] ?? []
    }

    /// Whether this server may create instances of `objectID` (the C bit of the (object, 65535) entry).
    public func mayCreate(objectID: UInt16) -> Bool {
        guard objectID != 0, objectID != Self.objectID else { return false }
        guard isEnforced else { return true }
        return rights(objectID: objectID, instanceID: Self.createInstanceID).contains(.create)
    }

    /// Throws 4.01 when this server may not perform `operation` on `path`.
    public func authorize(_ operation: Operation, _ path: LwM2MPath) throws(LwM2MClientError) {
        guard let objectID = path.objectID else { return }
        if objectID == 0 { throw Self.denied("the Security object is not accessible to servers", path) }
        guard isEnforced else { return }
        if objectID == Self.objectID {
            try authorizeAccessControl(operation, path)
            return
        }
        guard let instanceID = path.instanceID else {
            switch operation {
            case .create:
                if !mayCreate(objectID: objectID) { throw Self.denied("no Create right on /\(objectID)", path) }
            case .read, .observe, .discover, .writeAttributes:
                // A whole object: allowed when at least one instance is readable (the response is filtered).
                let ids = tree.instanceIDs(of: objectID)
                if !ids.isEmpty && !ids.contains(where: { rights(objectID: objectID, instanceID: $0).contains(.read) }) {
                    throw Self.denied("no Read right on any instance of /\(objectID)", path)
                }
            case .write, .execute, .delete:
                // Only meaningful on instances; if the handler accepts it on an object, every instance must allow it.
                let ids = tree.instanceIDs(of: objectID)
                if ids.contains(where: { !rights(objectID: objectID, instanceID: $0).contains(operation.requiredRight) }) {
                    throw Self.denied("no \(operation.requiredRight) right on every instance of /\(objectID)", path)
                }
            }
            return
        }
        guard tree.contains(.instance(objectID, instanceID)) else { return }  // 4.04 comes from the handler
        if !rights(objectID: objectID, instanceID: instanceID).contains(operation.requiredRight) {
            throw Self.denied("no \(operation.requiredRight) right on /\(objectID)/\(instanceID)", path)
        }
    }

    private func authorizeAccessControl(_ operation: Operation, _ path: LwM2MPath) throws(LwM2MClientError) {
        switch operation {
        case .read, .observe, .discover, .writeAttributes:
            return
        case .create, .delete:
            throw Self.denied("Access Control instances are managed by the client", path)
        case .write, .execute:
            guard let x = path.instanceID else { throw Self.denied("write on the Access Control object", path) }
            guard tree.contains(.instance(Self.objectID, x)) else { return }
            if owner(ofControlInstance: x) != shortServerID {
                throw Self.denied("only the Access Control Owner may change /2/\(x)", path)
            }
        }
    }

    /// `node` with the instances this server may not read left out (Read/Observe/Discover of an object).
    public func readable(_ node: LwM2MNode) -> LwM2MNode {
        guard isEnforced, case .object(var object) = node, object.id != Self.objectID else { return node }
        object.instances.removeAll { !rights(objectID: object.id, instanceID: $0.id).contains(.read) }
        return .object(object)
    }

    // MARK: - Bookkeeping after Create and Delete

    /// After this server created (`objectID`, `instanceID`): an Access Control instance owned by the server.
    public func didCreate(objectID: UInt16, instanceID: UInt16) throws(LwM2MClientError) {
        guard isEnforced, objectID != Self.objectID, tree.definition(of: Self.objectID) != nil else { return }
        try Self.setRights(in: tree, objectID: objectID, instanceID: instanceID, owner: shortServerID, acl: [:])
    }

    /// After (`objectID`, `instanceID`) was deleted: its Access Control instance goes too.
    public func didDelete(objectID: UInt16, instanceID: UInt16) throws(LwM2MClientError) {
        guard objectID != Self.objectID, let x = controlInstance(objectID: objectID, instanceID: instanceID) else { return }
        try tree.deleteInstance(Self.objectID, x)
    }

    /// Creates or replaces the Access Control instance of (`objectID`, `instanceID`) with `owner` and `acl`
    /// (Short Server ID -> rights; 0 is the default entry). Adds object 2 to the tree when missing.
    @discardableResult
    public static func setRights(
        in tree: LwM2MObjectTree, objectID: UInt16, instanceID: UInt16, owner: UInt16,
        acl: [UInt16: LwM2MAccessRights]
    ) throws(LwM2MClientError) -> UInt16 {
        if tree.definition(of: Self.objectID) == nil { try tree.addObject(Self.objectID) }
        let existing = LwM2MAccessControl(tree: tree, shortServerID: owner)
            .controlInstance(objectID: objectID, instanceID: instanceID)
        let x: UInt16
        if let existing {
            x = existing
            try tree.set(.resource(Self.objectID, x, 3), .integer(Int64(owner)))
        } else {
            x = try tree.createInstance(Self.objectID, values: [
                0: .integer(Int64(objectID)), 1: .integer(Int64(instanceID)), 3: .integer(Int64(owner)),
            ])
        }
        try tree.setInstances(.resource(Self.objectID, x, 2), acl.mapValues { .integer(Int64($0.rawValue)) })
        return x
    }

    // MARK: - Removing a server account

    /// Cleans up Access Control after the server account with Short Server ID `ssid` was removed (its Server
    /// instance /1/x deleted by a server's Delete or by Bootstrap-Delete), following the Access Control object's
    /// rules (Core TS 7.3 and the object 2 definition: an ACL resource instance ID is the Short Server ID of a
    /// server; only the Access Control Owner manages an instance; an object instance whose owner is gone is an
    /// orphan the client removes):
    /// - every ACL entry of that server (/2/x/2/ssid) is removed;
    /// - every Access Control instance that server owned (/2/x/3 = ssid) is deleted together with the object
    ///   instance it governs, except the Device object's instance, which a client always keeps, and another
    ///   server's Server instance (their Access Control instances stay, so that a server later bootstrapped with
    ///   the same Short Server ID manages them again).
    ///
    /// Nothing happens while another Server instance still carries `ssid`. Returns the deleted instance paths.
    @discardableResult
    public static func removeServerAccount(shortServerID ssid: UInt16, from tree: LwM2MObjectTree)
        throws(LwM2MClientError) -> [LwM2MPath]
    {
        guard ssid != 0, ssid != 65535, tree.definition(of: objectID) != nil else { return [] }
        if tree.instanceIDs(of: 1).contains(where: {
            LwM2MServerAccount.integer(tree.value(at: .resource(1, $0, 0))) == Int64(ssid)
        }) {
            return []
        }
        let control = LwM2MAccessControl(tree: tree, shortServerID: ssid)
        var deleted: [LwM2MPath] = []
        for x in tree.instanceIDs(of: objectID) {
            var acl = control.acl(ofControlInstance: x)
            if acl.removeValue(forKey: ssid) != nil {
                try tree.setInstances(.resource(objectID, x, 2), acl.mapValues { .integer(Int64($0.rawValue)) })
            }
            guard control.owner(ofControlInstance: x) == ssid,
                  let target = LwM2MServerAccount.integer(tree.value(at: .resource(objectID, x, 0))).flatMap({ UInt16(exactly: $0) }),
                  let instance = LwM2MServerAccount.integer(tree.value(at: .resource(objectID, x, 1))).flatMap({ UInt16(exactly: $0) })
            else { continue }
            if target == 3 || target == 1, tree.contains(.instance(target, instance)) { continue }
            if tree.contains(.instance(target, instance)) {
                try tree.deleteInstance(target, instance)
                deleted.append(.instance(target, instance))
            }
            try tree.deleteInstance(objectID, x)
            deleted.append(.instance(objectID, x))
        }
        return deleted
    }

    static func denied(_ reason: String, _ path: LwM2MPath) -> LwM2MClientError {
        LwM2MClientError(code: .unauthorized, reason: reason, path: path)
    }
}

extension LwM2MStandardObjects {
    /// Adds Access Control (2) and one Access Control instance for every existing object instance (except
    /// Security and Access Control itself): each Server instance /1/y is owned by its own server, everything
    /// else by `owner`; `defaultRights` go into the default ACL entry (0) of every instance, and `creators`
    /// get the Create right on every object through its (object, 65535) entry.
    public static func installAccessControl(
        in tree: LwM2MObjectTree, owner: UInt16, defaultRights: LwM2MAccessRights = [],
        creators: [UInt16] = []
    ) throws(LwM2MClientError) {
        if tree.definition(of: LwM2MAccessControl.objectID) == nil { try tree.addObject(LwM2MAccessControl.objectID) }
        let acl: [UInt16: LwM2MAccessRights] = defaultRights.isEmpty ? [:] : [0: defaultRights]
        for objectID in tree.objectIDs where objectID != 0 && objectID != LwM2MAccessControl.objectID {
            for instanceID in tree.instanceIDs(of: objectID) {
                var instanceOwner = owner
                if objectID == 1, let id = LwM2MServerAccount.integer(tree.value(at: .resource(1, instanceID, 0))),
                   let ssid = UInt16(exactly: id) {
                    instanceOwner = ssid
                }
                try LwM2MAccessControl.setRights(
                    in: tree, objectID: objectID, instanceID: instanceID, owner: instanceOwner, acl: acl)
            }
            if !creators.isEmpty, objectID != 1 {
                try LwM2MAccessControl.setRights(
                    in: tree, objectID: objectID, instanceID: LwM2MAccessControl.createInstanceID,
                    owner: 65535, acl: Dictionary(uniqueKeysWithValues: creators.map { ($0, LwM2MAccessRights.create) }))
            }
        }
    }
}
