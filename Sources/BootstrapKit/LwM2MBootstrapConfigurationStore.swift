/// Where the bootstrap server looks up what to provision into a client.
public protocol LwM2MBootstrapConfigurationStore: Sendable {
    /// The configuration for `endpoint`, or nil when the endpoint must not be bootstrapped.
    func configuration(for endpoint: String) async throws -> LwM2MBootstrapConfiguration?
}

/// A bootstrap configuration store in memory: per-endpoint configurations and an optional default for
/// endpoints without their own.
public actor LwM2MInMemoryBootstrapConfigurationStore: LwM2MBootstrapConfigurationStore {
    private var endpoints: [String: LwM2MBootstrapConfiguration]
    private var fallback: LwM2MBootstrapConfiguration?

    /// Creates a store with `endpoints` and an optional `default` configuration.
    public init(endpoints: [String: LwM2MBootstrapConfiguration] = [:], default: LwM2MBootstrapConfiguration? = nil) {
        self.endpoints = endpoints
        self.fallback = `default`
    }

    /// Creates a store with the contents of a configuration file.
    public init(file: LwM2MBootstrapConfigurationFile) {
        self.init(endpoints: file.endpoints, default: file.default)
    }

    /// The endpoint's own configuration, else the default.
    public func configuration(for endpoint: String) -> LwM2MBootstrapConfiguration? {
        endpoints[endpoint] ?? fallback
    }

    /// Sets (or with nil removes) the configuration of `endpoint`.
    public func set(_ configuration: LwM2MBootstrapConfiguration?, for endpoint: String) {
        endpoints[endpoint] = configuration
    }

    /// Sets (or with nil removes) the default configuration for endpoints without their own.
    public func setDefault(_ configuration: LwM2MBootstrapConfiguration?) {
        fallback = configuration
    }
}
