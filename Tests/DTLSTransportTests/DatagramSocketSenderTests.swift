import CoAPCore
@testable import DTLSTransport
import Foundation
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The payloads of the first `count` datagrams `transport` receives, in order (fewer if `seconds` of real time pass).
private func payloads(_ transport: CoAPUDPTransport, count: Int, seconds: Double = 10) async -> [String] {
    await withTaskGroup(of: [String]?.self) { group in
        group.addTask {
            var received: [String] = []
            for await datagram in transport.inbound {
                received.append(String(buffer: datagram.data))
                if received.count == count { break }
            }
            return received
        }
        group.addTask {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return nil
        }
        let result = await group.next() ?? nil
        group.cancelAll()
        return result ?? []
    }
}

/// Whether a UDP socket can bind `::1` here (containers sometimes run without IPv6).
private let hasIPv6Socket: Bool = {
    guard let address = try? SocketAddress(ipAddress: "::1", port: 0),
        let descriptor = try? DatagramSocketSender.makeBoundSocket(address)
    else { return false }
    close(descriptor)
    return true
}()

/// A sender on a socket of its own, closed by `body`'s end.
private func withSender<T>(
    host: String, slotSize: Int, _ body: (DatagramSocketSender) async throws -> T
) async throws -> T {
    let descriptor = try DatagramSocketSender.makeBoundSocket(try SocketAddress(ipAddress: host, port: 0))
    defer { close(descriptor) }
    return try await body(DatagramSocketSender(descriptor: descriptor, slotSize: slotSize))
}

@Suite("DatagramSocketSender: the DTLS server's sends on its socket")
struct DatagramSocketSenderTests {
    @Test("A queue of datagrams arrives complete and in order at each peer, batched or sent alone by size")
    func batchKeepsOrderAndPeers() async throws {
        let a = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let b = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let long = "3" + String(repeating: "x", count: 99)  // longer than a 64-byte slot: sent on its own
        let queue: [(String, CoAPUDPTransport)] = [("1", a), ("2", b), (long, a), ("4", a), ("5", b), ("6", b)]
        let handled = try await withSender(host: "127.0.0.1", slotSize: 64) { sender in
            sender.send(queue.map { (ByteBuffer(string: $0.0), $0.1.localAddress) }) { peer, error in
                Issue.record("refused \(peer): errno \(error)")
            }
        }
        #expect(handled == queue.count)
        #expect(await payloads(a, count: 3) == ["1", long, "4"])
        #expect(await payloads(b, count: 3) == ["2", "5", "6"])
        await a.close()
        await b.close()
    }

    @Test("A datagram the kernel refuses (too long for UDP) is reported and skipped; the rest still go out")
    func refusedDatagramIsSkipped() async throws {
        let a = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        let tooLong = ByteBuffer(repeating: 0x41, count: 70_000)
        var refused: [Int32] = []
        let handled = try await withSender(host: "127.0.0.1", slotSize: 2048) { sender in
            sender.send([
                (ByteBuffer(string: "first"), a.localAddress), (tooLong, a.localAddress),
                (ByteBuffer(string: "last"), a.localAddress),
            ]) { _, error in refused.append(error) }
        }
        #expect(handled == 3)
        #expect(refused == [EMSGSIZE])
        #expect(await payloads(a, count: 2) == ["first", "last"])
        await a.close()
    }

    @Test("IPv6 peers get their datagrams, batched", .enabled(if: hasIPv6Socket, "no IPv6 loopback here"))
    func ipv6Batch() async throws {
        let a = try await CoAPUDPTransport.bind(host: "::1", port: 0)
        let handled = try await withSender(host: "::1", slotSize: 64) { sender in
            sender.send([(ByteBuffer(string: "v6-1"), a.localAddress), (ByteBuffer(string: "v6-2"), a.localAddress)]) {
                peer, error in Issue.record("refused \(peer): errno \(error)")
            }
        }
        #expect(handled == 2)
        #expect(await payloads(a, count: 2) == ["v6-1", "v6-2"])
        await a.close()
    }

    @Test("Binding a port another socket holds fails with a typed error")
    func bindConflict() async throws {
        let a = try await CoAPUDPTransport.bind(host: "127.0.0.1", port: 0)
        #expect(throws: DTLSError.self) { try DatagramSocketSender.makeBoundSocket(a.localAddress) }
        await a.close()
    }
}
