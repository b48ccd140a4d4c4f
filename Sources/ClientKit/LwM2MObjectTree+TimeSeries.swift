public import LwM2MModel

extension LwM2MObjectTree {
    /// Starts caching up to `capacity` timestamped values of single resource `path` (shell `cache PATH N`;
    /// Zephyr's `lwm2m_enable_cache`); 0 stops caching. Only fixed-size types can be cached: integer, unsigned
    /// integer, float, boolean and time (4.00 otherwise; 4.04 for a resource the object does not define).
    public func enableCache(
        _ path: LwM2MPath, capacity: Int, policy: LwM2MTimeSeriesCache.OverflowPolicy = .dropNewest
    ) throws(LwM2MClientError) {
        guard path.level == .resource, let o = path.objectID, let r = path.resourceID else {
            throw .badRequest("the cache needs a resource path", path)
        }
        guard let rd = definition(of: o)?.resource(r) else { throw .notFound(path) }
        guard !rd.isMultiple else { throw .badRequest("multiple resources cannot be cached", path) }
        switch rd.type {
        case .integer, .unsignedInteger, .float, .boolean, .time: break
        default: throw .badRequest("a \(rd.type.rawValue) resource cannot be cached (fixed-size types only)", path)
        }
        guard capacity >= 0, capacity <= LwM2MTimeSeriesCache.maximumCapacity else {
            throw .badRequest("cache capacity must be 0...\(LwM2MTimeSeriesCache.maximumCapacity)", path)
        }
        timeSeries.enable(path, capacity: capacity, policy: policy)
    }
}
