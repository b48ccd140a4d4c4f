public import LwM2MModel

extension LwM2MNode {
    /// The node flattened into records at full paths (resources and resource instances), ordered by path.
    ///
    /// `path` is the node's own path: for an object instance `/3/0`, for a resource `/3/0/9` and so on. An empty
    /// multiple resource yields no records.
    public func records(at path: LwM2MPath, timestamp: Double? = nil) -> [LwM2MRecord] {
        var out: [LwM2MRecord] = []
        func add(_ resource: LwM2MResource, _ resourcePath: LwM2MPath) {
            switch resource.content {
            case .single(let v):
                out.append(LwM2MRecord(path: resourcePath, value: v, timestamp: timestamp))
            case .multiple(let instances):
                for ri in instances {
                    out.append(LwM2MRecord(path: resourcePath.appending(ri.id)!, value: ri.value, timestamp: timestamp))
                }
            }
        }
        func add(_ instance: LwM2MObjectInstance, _ instancePath: LwM2MPath) {
            for r in instance.resources { add(r, instancePath.appending(r.id)!) }
        }
        switch self {
        case .object(let o):
            for i in o.instances { add(i, .instance(o.id, i.id)) }
        case .objectInstance(let i):
            add(i, path)
        case .resource(let r):
            add(r, path)
        case .resourceInstance(let ri):
            out.append(LwM2MRecord(path: path, value: ri.value, timestamp: timestamp))
        }
        return out
    }

    /// Assembles the node at `path` from records at full paths below (or at) it.
    ///
    /// Records must lie within `path`, carry values and not repeat a path. When `definitions` knows a resource,
    /// its value is typed by the definition (`LwM2MValue.coerced(to:)`) and a value that does not fit is a
    /// `typeMismatch`; a resource with a single record at a resource-instance path, or a definition saying
    /// "multiple", becomes a multiple resource. `path` must name an object, an instance, a resource or a resource
    /// instance (a whole tree at `/` is not one node).
    public init(
        records: [LwM2MRecord],
        at path: LwM2MPath,
        definitions: (any LwM2MDefinitionProvider)? = nil
    ) throws(LwM2MCodecError) {
        guard path.depth > 0 else {
            throw LwM2MCodecError(code: .invalidPath, reason: "records at / do not form one node", path: path)
        }
        // Payloads usually arrive in path order: sort (and copy) only when they do not.
        var sorted = records
        var inOrder = true
        var k = 1
        while k < sorted.count {
            if sorted[k].path < sorted[k - 1].path {
                inOrder = false
                break
            }
            k += 1
        }
        if !inOrder { sorted.sort { $0.path < $1.path } }
        for k in sorted.indices {
            let r = sorted[k]
            guard path.isPrefix(of: r.path), r.path.depth >= 3 || r.path == path && path.depth >= 3 else {
                throw LwM2MCodecError(
                    code: .invalidPath, reason: "\(r.path) is not a resource path within \(path)", path: r.path)
            }
            if k > 0 && sorted[k - 1].path == r.path {
                throw LwM2MCodecError(code: .duplicatePath, reason: "\(r.path) appears twice", path: r.path)
            }
            if r.value == nil {
                throw LwM2MCodecError(code: .malformed, reason: "\(r.path) has no value", path: r.path)
            }
        }
        // Every record lies within one object: look its definition up once.
        let objectDefinition = definitions?.objectDefinition(path.objectID!, version: nil)

        @inline(__always)
        func typedValue(_ r: LwM2MRecord, _ def: (type: LwM2MResourceType, isMultiple: Bool)?) throws(LwM2MCodecError)
            -> LwM2MValue
        {
            let value = r.value!
            guard let def, def.type != .none else { return value }
            guard let v = value.coerced(to: def.type) else {
                throw LwM2MCodecError(
                    code: .typeMismatch,
                    reason: "\(value.type.rawValue) value does not fit \(def.type.rawValue) resource", path: r.path)
            }
            return v
        }

        // Group into resources.
        func resources(in records: ArraySlice<LwM2MRecord>) throws(LwM2MCodecError) -> [LwM2MResource] {
            var result: [LwM2MResource] = []
            result.reserveCapacity(records.count)
            var index = records.startIndex
            while index < records.endIndex {
                let rid = records[index].path.resourceID!
                var end = index + 1
                while end < records.endIndex && records[end].path.resourceID == rid { end += 1 }
                let first = records[index]
                let def = objectDefinition?.typeAndMultiplicity(of: rid)
                if end - index == 1 && first.path.depth == 3 {
                    if def?.isMultiple == true {
                        throw LwM2MCodecError(
                            code: .typeMismatch, reason: "\(first.path) is a multiple resource but has a single value",
                            path: first.path)
                    }
                    result.append(LwM2MResource(id: rid, content: .single(try typedValue(first, def))))
                } else {
                    if def?.isMultiple == false {
                        throw LwM2MCodecError(
                            code: .typeMismatch, reason: "\(first.path.parent!) is a single resource but has instances",
                            path: first.path)
                    }
                    var instances = LwM2MResourceInstances()
                    instances.reserveCapacity(end - index)
                    for r in records[index..<end] {
                        guard let ri = r.path.resourceInstanceID else {
                            throw LwM2MCodecError(
                                code: .malformed, reason: "\(r.path) mixes a single value with resource instances",
                                path: r.path)
                        }
                        instances.insert(LwM2MResourceInstance(id: ri, value: try typedValue(r, def)))
                    }
                    result.append(LwM2MResource(id: rid, content: .multiple(instances)))
                }
                index = end
            }
            return result
        }

        switch path.level {
        case .root:
            fatalError("unreachable: checked above")
        case .resourceInstance:
            guard sorted.count == 1 else {
                throw LwM2MCodecError(
                    code: .malformed, reason: "expected one value at \(path), got \(sorted.count)", path: path)
            }
            let def = objectDefinition?.typeAndMultiplicity(of: path.resourceID!)
            self = .resourceInstance(LwM2MResourceInstance(id: path.resourceInstanceID!, value: try typedValue(sorted[0], def)))
        case .resource:
            if sorted.isEmpty {
                guard objectDefinition?.typeAndMultiplicity(of: path.resourceID!)?.isMultiple == true else {
                    throw LwM2MCodecError(code: .malformed, reason: "no value for \(path)", path: path)
                }
                self = .resource(LwM2MResource(id: path.resourceID!, content: .multiple([])))
                return
            }
            let rs = try resources(in: sorted[...])
            self = .resource(rs[0])
        case .objectInstance:
            self = .objectInstance(LwM2MObjectInstance(id: path.instanceID!, resources: try resources(in: sorted[...])))
        case .object:
            var instances: [LwM2MObjectInstance] = []
            var index = sorted.startIndex
            while index < sorted.endIndex {
                let iid = sorted[index].path.instanceID!
                var end = index
                while end < sorted.endIndex && sorted[end].path.instanceID == iid { end += 1 }
                instances.append(LwM2MObjectInstance(id: iid, resources: try resources(in: sorted[index..<end])))
                index = end
            }
            self = .object(LwM2MObject(id: path.objectID!, instances: instances))
        }
    }

    /// `record` with its value typed by the resource definition, when one is known.
    static func typed(_ record: LwM2MRecord, definitions: (any LwM2MDefinitionProvider)?) throws(LwM2MCodecError)
        -> LwM2MRecord
    {
        guard let definitions, let value = record.value, let o = record.path.objectID, let r = record.path.resourceID,
            let def = definitions.resourceDefinition(objectID: o, resourceID: r), def.type != .none
        else { return record }
        guard let v = value.coerced(to: def.type) else {
            throw LwM2MCodecError(
                code: .typeMismatch, reason: "\(value.type.rawValue) value does not fit \(def.type.rawValue) resource",
                path: record.path)
        }
        var out = record
        out.value = v
        return out
    }
}

extension LwM2MObjectDefinition {
    /// The type and multiplicity of resource `id` (binary search, without copying the definition's strings).
    @inline(__always)
    func typeAndMultiplicity(of id: UInt16) -> (type: LwM2MResourceType, isMultiple: Bool)? {
        var lo = 0
        var hi = resources.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let rid = resources[mid].id
            if rid == id { return (resources[mid].type, resources[mid].isMultiple) }
            if rid < id { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }
}
