import NIOCore

/// The client side of a Block2 download (RFC 7959 section 2.4): given each response, says which request to send
/// next and assembles the body; detects a representation that changed in the middle (a different ETag) and
/// starts over, a bounded number of times. A pure sequencer: the caller sends the requests (assigning message
/// IDs and tokens as it likes) and retransmits them as the message layer requires.
public struct CoAPBlock2Download: Sendable {
    /// What to do after a response.
    public enum Step: Sendable {
        /// Send this request for the next block (token and message ID are the caller's to choose).
        case request(CoAPMessage)
        /// The transfer is finished: the assembled response (the first block's code and options, no Block2,
        /// the whole body). A response that was not block-wise is returned as it is.
        case complete(CoAPMessage)
        /// A duplicate or late response for a block already received: ignore it.
        case ignore
    }

    /// The request that starts the download (with an early-negotiation Block2 when a block size was asked).
    public let initialRequest: CoAPMessage
    /// The request for the block being awaited; send it again when retrying.
    public private(set) var currentRequest: CoAPMessage
    /// The largest body accepted.
    public let maxBodySize: Int
    /// How many more times a changed representation restarts the download.
    public private(set) var restartsLeft: Int

    private var baseRequest: CoAPMessage
    private var first: CoAPMessage?
    private var body = ByteBuffer()

    /// Prepares a download of `request`'s response.
    ///
    /// - Parameters:
    ///   - request: the request (GET or FETCH); an Observe option is kept on the first request only.
    ///   - blockSize: asks the server for this block size from the first block on (early negotiation).
    ///   - maxBodySize: larger bodies fail with `.tooLarge`.
    ///   - maxRestarts: how often a representation change (ETag) restarts the download before failing.
    public init(
        request: CoAPMessage, blockSize: Int? = nil, maxBodySize: Int = 16 << 20, maxRestarts: Int = 2
    ) {
        var initial = request
        if let blockSize {
            initial.setBlock2(try? CoAPBlockOption(number: 0, more: false, size: CoAPBlockOption.blockSize(atMost: blockSize)))
        }
        var base = request
        base.removeOptions(.observe)
        base.removeOptions(.size2)
        self.initialRequest = initial
        self.currentRequest = initial
        self.baseRequest = base
        self.maxBodySize = maxBodySize
        self.restartsLeft = maxRestarts
    }

    /// The number of body bytes received so far.
    public var receivedBytes: Int { body.readableBytes }

    /// Takes the response to `currentRequest` and says what comes next.
    public mutating func handle(_ response: CoAPMessage) throws(CoAPBlockError) -> Step {
        let started = first != nil
        guard response.code.isSuccess else {
            if !started { return .complete(response) }
            throw CoAPBlockError(
                code: .unexpectedResponse, reason: "the server answered \(response.code) in the middle of a download",
                option: .block2)
        }
        guard let block = try response.block2() else {
            if !started { return .complete(response) }
            throw CoAPBlockError(
                code: .unexpectedResponse, reason: "a response in the middle of a download has no Block2",
                option: .block2)
        }
        let received = body.readableBytes
        if started && response.eTag != first!.eTag {
            guard restartsLeft > 0 else {
                throw CoAPBlockError(
                    code: .representationChanged, reason: "the ETag changed at block \(block.number)",
                    option: .block2, blockNumber: block.number)
            }
            // The representation changed: start over (using this response when it is block 0).
            restartsLeft -= 1
            first = nil
            body.clear()
            if block.number != 0 {
                currentRequest = baseRequest
                currentRequest.setBlock2(try? CoAPBlockOption(number: 0, more: false, szx: block.szx))
                return .request(currentRequest)
            }
            return try handle(response)
        }
        if block.offset < received { return .ignore }
        guard block.offset == received else {
            throw CoAPBlockError(
                code: .unexpectedResponse, reason: "block at offset \(block.offset) but \(received) bytes received",
                option: .block2, blockNumber: block.number)
        }
        let length = response.payload.readableBytes
        guard block.more ? length == block.size : length <= block.size else {
            throw CoAPBlockError(
                code: .badBlockSize, reason: "block of \(length) bytes with size \(block.size)",
                option: .block2, blockNumber: block.number)
        }
        if !started, let size2 = response.size2, Int(size2) > maxBodySize {
            throw CoAPBlockError(code: .tooLarge, reason: "Size2 \(size2) exceeds \(maxBodySize)", option: .block2)
        }
        guard received + length <= maxBodySize else {
            throw CoAPBlockError(
                code: .tooLarge, reason: "the body exceeds \(maxBodySize) bytes", option: .block2,
                blockNumber: block.number)
        }
        if !started { first = response }
        body.writeImmutableBuffer(response.payload)
        guard block.more else {
            var whole = first!
            whole.setBlock2(nil)
            whole.removeOptions(.size2)
            whole.payload = body
            return .complete(whole)
        }
        let next = body.readableBytes
        guard next % block.size == 0, let nextBlock = try? CoAPBlockOption(
            number: UInt32(next / block.size), more: false, szx: block.szx)
        else {
            throw CoAPBlockError(
                code: .unexpectedResponse, reason: "\(next) bytes is no whole number of \(block.size)-byte blocks",
                option: .block2, blockNumber: block.number)
        }
        currentRequest = baseRequest
        currentRequest.setBlock2(nextBlock)
        return .request(currentRequest)
    }
}
