import NIOCore

/// The client side of a Block1 upload (RFC 7959 section 2.3): slices a request body into blocks, goes on after
/// 2.31 Continue, adopts the smaller block size a server asks for (in a 2.31 or a 4.13), sends Size1 with the
/// first block, and reports the final response. A pure sequencer: the caller sends the requests (assigning
/// message IDs and tokens) and retransmits them as the message layer requires.
public struct CoAPBlock1Upload: Sendable {
    /// What to do after a response.
    public enum Step: Sendable {
        /// Send this request (the next block, or block 0 again at a smaller size).
        case request(CoAPMessage)
        /// The upload is finished: this is the final response (success or failure).
        case complete(CoAPMessage)
        /// A duplicate or late response to an earlier block: ignore it.
        case ignore
    }

    /// The request to send now; send it again when retrying.
    public private(set) var currentRequest: CoAPMessage
    /// Whether the body goes block-wise (it is larger than the block size, or a server asked for blocks).
    public private(set) var isBlockwise: Bool
    /// The block size in use.
    public private(set) var blockSize: Int

    private var baseRequest: CoAPMessage
    private let body: ByteBuffer
    private var current: CoAPBlockOption?

    /// Prepares an upload of `request`'s payload.
    ///
    /// - Parameters:
    ///   - request: the request (PUT, POST, ...) carrying the whole body.
    ///   - blockSize: the block size to start with (rounded down to 16 ... 1024); bodies that fit go in one
    ///     message without Block1. A body that needs more than 2^20 blocks uses larger blocks.
    /// - Throws: `.tooLarge` for a body that does not fit in 2^20 blocks of 1024 bytes.
    public init(request: CoAPMessage, blockSize: Int = 1024) throws(CoAPBlockError) {
        self.body = request.payload
        var size = CoAPBlockOption.blockSize(atMost: blockSize)
        while body.readableBytes > (Int(CoAPBlockOption.maxNumber) + 1) * size {
            guard size < CoAPBlockOption.maxSize else {
                throw CoAPBlockError(
                    code: .tooLarge, reason: "\(body.readableBytes) bytes do not fit in 2^20 blocks", option: .block1)
            }
            size *= 2
        }
        self.blockSize = size
        var base = request
        base.payload = ByteBuffer()
        base.removeOptions(.block1)
        base.removeOptions(.size1)
        self.baseRequest = base
        self.currentRequest = request
        self.isBlockwise = false
        self.current = nil
        if body.readableBytes > self.blockSize {
            start()
        }
    }

    /// The number of body bytes the server has acknowledged so far.
    public private(set) var acknowledgedBytes = 0

    /// Takes the response to `currentRequest` and says what comes next.
    public mutating func handle(_ response: CoAPMessage) throws(CoAPBlockError) -> Step {
        let echoed = try response.block1()
        guard let current else {
            // Sent in one piece: a 4.13 naming a smaller block size asks for a block-wise retry.
            if response.code == .requestEntityTooLarge, let echoed, echoed.size < body.readableBytes, fits(echoed.size),
                response.size1.map({ Int($0) >= body.readableBytes }) ?? true
            {
                blockSize = echoed.size
                start()
                return .request(currentRequest)
            }
            return .complete(response)
        }
        if let echoed, echoed.number != current.number { return .ignore }
        if response.code == .requestEntityTooLarge, current.number == 0, let echoed, echoed.size < current.size,
            fits(echoed.size),
            response.size1.map({ Int($0) >= body.readableBytes }) ?? true
        {
            blockSize = echoed.size
            start()
            return .request(currentRequest)
        }
        guard response.code.isSuccess else { return .complete(response) }
        guard current.more else {
            if response.code == .continue {
                throw CoAPBlockError(
                    code: .unexpectedResponse, reason: "2.31 Continue after the last block", option: .block1,
                    blockNumber: current.number)
            }
            acknowledgedBytes = body.readableBytes
            return .complete(response)
        }
        // 2.31 (atomic server) or another 2.xx (a server acting on each block): send the next block, at the
        // server's preferred size when it asked for a smaller one.
        let nextOffset = current.offset + current.size
        acknowledgedBytes = nextOffset
        if let echoed, echoed.size < blockSize, fits(echoed.size) { blockSize = echoed.size }
        send(offset: nextOffset)
        return .request(currentRequest)
    }

    /// Whether the body fits in 2^20 blocks of `size` bytes.
    private func fits(_ size: Int) -> Bool {
        body.readableBytes <= (Int(CoAPBlockOption.maxNumber) + 1) * size
    }

    private mutating func start() {
        isBlockwise = true
        acknowledgedBytes = 0
        send(offset: 0)
    }

    private mutating func send(offset: Int) {
        let length = Swift.min(blockSize, body.readableBytes - offset)
        let more = offset + length < body.readableBytes
        let block = try! CoAPBlockOption(number: UInt32(offset / blockSize), more: more, size: blockSize)
        var request = baseRequest
        request.setBlock1(block)
        if offset == 0 { request.size1 = UInt32(clamping: body.readableBytes) }
        request.payload = body.getSlice(at: body.readerIndex + offset, length: length)!
        current = block
        currentRequest = request
    }
}
