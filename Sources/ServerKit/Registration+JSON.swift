import CoAPCore
import LwM2MModel
import NIOCore

extension Registration {
    /// The registration as a JSON object (the console's `clients` list and registration events):
    /// `{"endpoint":"dev1","registrationId":"...","address":"...","lifetime":60,"lwm2m":"1.1","binding":"U",
    /// "queueMode":false,"security":"psk","identity":"dev1-id","objects":[{"id":3,"instances":[0]},...]}`;
    /// `security` is `nosec`, `psk` or `x509` and `identity` the PSK identity or certificate CN it registered with.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("endpoint", .string(endpoint)),
            ("registrationId", .string(id)),
            ("address", .string(addressText)),
            ("lifetime", .int(Int64(lifetime))),
            ("lwm2m", .string(version.description)),
            ("binding", .string(binding.description)),
            ("queueMode", .bool(queueMode)),
            ("security", .string(identity?.securityCredential.mode ?? "nosec")),
        ]
        if let identity { members.append(("identity", .string(identity.securityCredential.identity))) }
        if let smsNumber { members.append(("sms", .string(smsNumber))) }
        if rootPath != "/" { members.append(("rootPath", .string(rootPath))) }
        if !supportedContentFormats.isEmpty {
            members.append(("contentFormats", .array(supportedContentFormats.map { .int(Int64($0.rawValue)) })))
        }
        members.append(
            (
                "objects",
                .array(
                    objects.map { o in
                        var m: [(String, JSONValue)] = [("id", .int(Int64(o.id)))]
                        if let v = o.version { m.append(("ver", .string(v))) }
                        m.append(("instances", .array(o.instances.map { .int(Int64($0)) })))
                        return .object(m)
                    })
            ))
        return .object(members)
    }

    /// `host:port` of the client's address (`[v6]:port` for IPv6).
    public var addressText: String { address.hostAndPort }

    /// ThingsBoard's DiscoverAll answer: the registration links as a JSON array of
    /// `{"url": ..., "attributes": {...}}`, attribute values as written in link format (quoted values keep their
    /// quotes: `"rt":"\"oma.lwm2m\""`, `"ct":"110"`), attributes in name order. ThingsBoard returns this array as
    /// JSON text in a string, and so does the command layer.
    public var discoverAllJSON: JSONValue {
        .array(
            links.map { link in
                .object([
                    ("url", .string(link.target)),
                    (
                        "attributes",
                        .object(link.attributes.sorted { $0.name < $1.name }.map { ($0.name, .string($0.linkFormatValue)) })
                    ),
                ])
            })
    }
}

extension LwM2MServerEvent {
    /// The event as one JSON object, e.g. `{"event":"registered","endpoint":"dev1",...}` or
    /// `{"event":"notification","endpoint":"dev1","path":"/3/0/9","value":94}`.
    public var json: JSONValue {
        switch self {
        case .registered(let r, let replaced):
            guard case .object(let members) = r.json else { return .null }
            var out: [(String, JSONValue)] = [("event", .string("registered"))] + members
            if let replaced { out.append(("replaced", .string(replaced.id))) }
            return .object(out)
        case .updated(let u):
            guard case .object(let members) = u.current.json else { return .null }
            return .object([("event", .string("updated"))] + members)
        case .deregistered(let r):
            return .object([
                ("event", .string("deregistered")), ("endpoint", .string(r.endpoint)), ("registrationId", .string(r.id)),
            ])
        case .expired(let r):
            return .object([
                ("event", .string("expired")), ("endpoint", .string(r.endpoint)), ("registrationId", .string(r.id)),
            ])
        case .notification(let n):
            var out: [(String, JSONValue)] = [
                ("event", .string("notification")), ("endpoint", .string(n.observation.endpoint)),
            ]
            switch n.observation.target {
            case .path(let p): out.append(("path", .string(p.description)))
            case .composite(let ps): out.append(("paths", .array(ps.map { .string($0.description) })))
            }
            switch n.content {
            case .node(_, let node): out.append(("value", node.jsonValue))
            case .records(let records): out.append(("value", recordsJSON(records)))
            }
            if let sequence = n.sequence { out.append(("sequence", .int(Int64(sequence)))) }
            return .object(out)
        case .send(let s):
            let records: [JSONValue] = s.records.compactMap { record in
                guard let v = record.value else { return nil }
                var m: [(String, JSONValue)] = [("path", .string(record.path.description)), ("value", v.jsonValue)]
                if let t = record.timestamp { m.append(("time", .double(t))) }
                return .object(m)
            }
            return .object([("event", .string("send")), ("endpoint", .string(s.endpoint)), ("records", .array(records))])
        }
    }
}
