import CoAPCore
import NIOCore
import Testing

@Suite("SocketAddress.hostAndPort (peers in log lines)")
struct SocketAddressHostAndPortTests {
    @Test("IPv4 prints host:port, IPv6 [host]:port, a Unix socket its path; never NIO's long form")
    func forms() throws {
        let v4 = try SocketAddress(ipAddress: "127.0.0.1", port: 39698)
        #expect(v4.hostAndPort == "127.0.0.1:39698")
        #expect("\(v4)".hasPrefix("[IPv4]"))
        #expect(try SocketAddress(ipAddress: "::1", port: 5684).hostAndPort == "[::1]:5684")
        #expect(try SocketAddress(ipAddress: "2001:db8::7", port: 1).hostAndPort == "[2001:db8::7]:1")
        let unix = try SocketAddress(unixDomainSocketPath: "/tmp/x.sock")
        #expect(unix.hostAndPort == unix.description)
    }

    @Test("a discard report names the peer compactly")
    func discardText() throws {
        let discard = CoAPDiscard(
            peer: try SocketAddress(ipAddress: "10.0.0.2", port: 5683), reason: .malformed, answer: .reset,
            messageID: 7, messageType: .confirmable)
        #expect(discard.description.hasPrefix("malformed from 10.0.0.2:5683 ("), "\(discard)")
    }
}
