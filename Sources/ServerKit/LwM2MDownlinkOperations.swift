public import CoAPCore
public import LwM2MModel

/// How a Write changes its target (Core TS 6.3.3): PUT replaces, POST updates partially.
public enum LwM2MWriteMode: Sendable, Hashable {
    /// Replace the instance or resource (PUT).
    case replace
    /// Update only the given resources / resource instances (POST).
    case partialUpdate
}

/// The downlink operations of an LwM2M server (Device Management and Information Reporting interfaces), as the
/// management command layer uses them. `LwM2MServer` implements them over CoAP; tests use a fake.
///
/// Every operation throws `LwM2MServerError` (with the client's CoAP code for error responses). `format`
/// overrides the server's content-format policy for that call.
public protocol LwM2MDownlinkOperations: Sendable {
    /// The registration of `endpoint`, if it is registered.
    func registration(endpoint: String) async -> Registration?
    /// Every registration.
    func registrations() async -> [Registration]

    /// Read: the node at `path`.
    func read(endpoint: String, path: LwM2MPath, format: CoAPContentFormat?) async throws(LwM2MServerError) -> LwM2MNode
    /// Discover: the links (with attributes) at `path`, as link-format text.
    func discover(endpoint: String, path: LwM2MPath) async throws(LwM2MServerError) -> String
    /// Write `node` at `path` (an instance or resource; a resource instance for partial updates).
    func write(
        endpoint: String, path: LwM2MPath, node: LwM2MNode, mode: LwM2MWriteMode, format: CoAPContentFormat?
    ) async throws(LwM2MServerError)
    /// Write-Attributes: `attributes` are query items such as `pmin=10`, `gt=20.5`, or a bare `pmax` to unset.
    func writeAttributes(endpoint: String, path: LwM2MPath, attributes: [String]) async throws(LwM2MServerError)
    /// Execute the resource at `path` with optional arguments (Core TS 5.4.5 syntax, e.g. `0='v',1`).
    func execute(endpoint: String, path: LwM2MPath, arguments: String?) async throws(LwM2MServerError)
    /// Create an instance of `objectID` with `instanceID` (or one the client chooses when `instanceID` is
    /// `nil`); returns the new instance's path.
    func create(
        endpoint: String, objectID: UInt16, instanceID: UInt16?, resources: [LwM2MResource], format: CoAPContentFormat?
    ) async throws(LwM2MServerError) -> LwM2MPath
    /// Delete the object instance at `path`.
    func delete(endpoint: String, path: LwM2MPath) async throws(LwM2MServerError)
    /// Read-Composite: records for `paths`.
    func readComposite(endpoint: String, paths: [LwM2MPath], format: CoAPContentFormat?) async throws(LwM2MServerError)
        -> [LwM2MRecord]
    /// Write-Composite: the records' values, atomically.
    func writeComposite(endpoint: String, records: [LwM2MRecord], format: CoAPContentFormat?) async throws(LwM2MServerError)
    /// Observe `path`; returns the observation and the current value. Notifications arrive as events.
    func observe(endpoint: String, path: LwM2MPath, format: CoAPContentFormat?) async throws(LwM2MServerError)
        -> (Observation, LwM2MNode)
    /// Observe-Composite `paths`; returns the observation and the current values.
    func observeComposite(endpoint: String, paths: [LwM2MPath], format: CoAPContentFormat?) async throws(LwM2MServerError)
        -> (Observation, [LwM2MRecord])
    /// Cancels the observations of `path` (actively with a GET Observe=1, or passively by forgetting them);
    /// returns how many were cancelled.
    func cancelObservation(endpoint: String, path: LwM2MPath, active: Bool) async throws(LwM2MServerError) -> Int
    /// Cancels the composite observation of exactly `paths`; returns how many were cancelled.
    func cancelCompositeObservation(endpoint: String, paths: [LwM2MPath], active: Bool) async throws(LwM2MServerError)
        -> Int
    /// Cancels every observation of `endpoint` (passively); returns how many.
    func cancelAllObservations(endpoint: String) async throws(LwM2MServerError) -> Int
    /// The observations of `endpoint`.
    func observations(endpoint: String) async -> [Observation]
}
