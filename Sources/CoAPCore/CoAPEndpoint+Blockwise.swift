public import NIOCore

extension CoAPExchangeError.Code {
    /// A block-wise transfer (RFC 7959) could not be completed: the peer broke the block sequence, the body
    /// exceeds the configured maximum, or the representation kept changing.
    public static let blockTransferFailed = Self(name: "blockTransferFailed")
}

extension CoAPExchangeError {
    init(_ error: CoAPBlockError) {
        self.init(code: .blockTransferFailed, reason: error.description)
    }
}

extension CoAPEndpoint {
    /// Sends `message` to `peer` and returns its response. The endpoint sets the message ID and, when the
    /// token is empty, a fresh token; the request goes CON unless `message.type` is `.nonConfirmable`.
    ///
    /// Bodies larger than the configured block size go block-wise (Block1, RFC 7959 section 2.3, following
    /// the server's block size and 2.31 Continue); a response sliced with Block2 is fetched block by block and
    /// returned whole (restarting when its ETag changes). Each block is one exchange with its own timeout.
    ///
    /// Throws `CoAPExchangeError` on give-up, timeout (`timeout` counts from each block's start; default
    /// EXCHANGE_LIFETIME), RST, cancellation of the calling task, `close()`, or a failed block-wise transfer
    /// (`.blockTransferFailed`).
    public func request(
        _ message: CoAPMessage, to peer: SocketAddress, timeout: TimeAmount? = nil
    ) async throws(CoAPExchangeError) -> CoAPMessage {
        let settings = configuration.blockwise
        var response: CoAPMessage
        if message.payload.readableBytes > settings.blockSize {
            response = try await upload(message, to: peer, timeout: timeout)
        } else {
            response = try await singleRequest(message, to: peer, timeout: timeout)
        }
        guard let block2 = try? response.block2(), block2.more, response.code.isSuccess else { return response }
        var base = message
        base.token = .empty
        base.setBlock1(nil)
        base.size1 = nil
        if message.code != .fetch { base.payload = ByteBuffer() }
        return try await download(base, first: response, to: peer, timeout: timeout)
    }

    private func upload(
        _ message: CoAPMessage, to peer: SocketAddress, timeout: TimeAmount?
    ) async throws(CoAPExchangeError) -> CoAPMessage {
        var upload: CoAPBlock1Upload
        do {
            upload = try CoAPBlock1Upload(request: message, blockSize: configuration.blockwise.blockSize)
        } catch {
            throw CoAPExchangeError(error)
        }
        var next = upload.currentRequest
        while true {
            if next.option(.block1) != nil { next.token = .empty }
            let response = try await singleRequest(next, to: peer, timeout: timeout)
            let step: CoAPBlock1Upload.Step
            do {
                step = try upload.handle(response)
            } catch {
                throw CoAPExchangeError(error)
            }
            switch step {
            case .request(let request): next = request
            case .complete(let final): return final
            case .ignore:
                throw CoAPExchangeError(code: .blockTransferFailed, reason: "the server answered block-wise upload out of order")
            }
        }
    }

    /// Fetches the remaining blocks after `first` (a response with Block2 and M set) by repeating `base`.
    func download(
        _ base: CoAPMessage, first: CoAPMessage, to peer: SocketAddress, timeout: TimeAmount?
    ) async throws(CoAPExchangeError) -> CoAPMessage {
        var download = CoAPBlock2Download(request: base, maxBodySize: configuration.blockwise.maxResponseBodySize)
        var response = first
        while true {
            let step: CoAPBlock2Download.Step
            do {
                step = try download.handle(response)
            } catch {
                throw CoAPExchangeError(error)
            }
            switch step {
            case .request(var next):
                next.token = .empty
                response = try await singleRequest(next, to: peer, timeout: timeout)
            case .complete(let whole):
                return whole
            case .ignore:
                throw CoAPExchangeError(code: .blockTransferFailed, reason: "the server answered a block out of order")
            }
        }
    }
}
