public import NIOCore

extension SocketAddress {
    /// The address as log lines and messages print it: `host:port` (`[v6]:port` for IPv6), e.g. `127.0.0.1:5683`,
    /// instead of NIO's long `[IPv4]127.0.0.1/127.0.0.1:5683`; a Unix socket prints its path.
    public var hostAndPort: String {
        guard let ip = ipAddress, let port else { return description }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
