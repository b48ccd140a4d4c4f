import Benchmark
import CoAPCore
import NIOCore

/// A typical LwM2M Register request: CON POST /rd?ep=..&lt=..&lwm2m=1.1&b=U with a link-format payload.
func registerRequest() -> CoAPMessage {
    var m = CoAPMessage(
        type: .confirmable, code: .post, messageID: 0x1234, token: CoAPToken(value: 0x0102_0304_0506_0708))
    m.uriPath = ["rd"]
    m.uriQuery = ["ep=urn:imei:359072061234567", "lt=300", "lwm2m=1.1", "b=U"]
    m.contentFormat = .linkFormat
    m.payload = ByteBuffer(string: "</>;rt=\"oma.lwm2m\";ct=110,</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</4/0>,</5/0>,</3303/0>")
    return m
}

/// A 1 KiB Block2 response: ACK 2.05 with Content-Format, Block2 and a 1024-byte payload.
func block2Response() -> CoAPMessage {
    var m = CoAPMessage(type: .acknowledgement, code: .content, messageID: 0x4321, token: CoAPToken(value: 0xCAFE, length: 2))
    m.contentFormat = .lwm2mTLV
    m.addOption(CoAPOption(number: .block2, uint: 3 << 4 | 1 << 3 | 6))
    m.addOption(CoAPOption(number: .size2, uint: 65536))
    m.payload = ByteBuffer(repeating: 0xA5, count: 1024)
    return m
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 1000,
        scalingFactor: .kilo,
        maxDuration: .seconds(2)
    )

    for (name, message) in [("Register request", registerRequest()), ("1 KiB Block2 response", block2Response())] {
        let wire = message.encoded()
        Benchmark("CoAP encode: \(name)") { benchmark in
            var buffer = ByteBufferAllocator().buffer(capacity: 2048)
            for _ in benchmark.scaledIterations {
                buffer.clear()
                blackHole(message.encode(into: &buffer))
            }
        }
        Benchmark("CoAP decode: \(name)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try CoAPMessage(decoding: wire))
            }
        }
    }

    // The message layer of a server: a CON Register request from each of 100,000 distinct peers goes in,
    // a piggybacked 2.01 goes out; deduplication state for every peer is kept (O(1) lookups, heap timers).
    Benchmark(
        "Message layer: 100k peers, CON request in, piggybacked response out",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal], warmupIterations: 0, scalingFactor: .one, maxDuration: .seconds(20),
            maxIterations: 3)
    ) { benchmark in
        let peers = (0..<100_000).map { k in
            try! SocketAddress(ipAddress: "10.\(k >> 16).\((k >> 8) & 0xFF).\(k & 0xFF)", port: 40_000 + k % 1000)
        }
        let wire = registerRequest().encoded()
        var created = CoAPMessage(type: .acknowledgement, code: .created, messageID: 0)
        created.locationPath = ["rd", "4f2a"]
        var layer = CoAPMessageLayer(seed: 1)
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        benchmark.startMeasurement()
        for peer in peers {
            for case .deliverRequest(_, let exchange) in layer.receive(wire, from: peer, now: now) {
                blackHole(layer.respond(to: exchange, with: created, now: now))
            }
        }
        benchmark.stopMeasurement()
        blackHole(layer.deduplicationCount)
    }
}
