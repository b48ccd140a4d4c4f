public import CoAPCore
import LwM2MModel
import NIOCore
import Synchronization

/// Firmware Update (object 5, instance 0) and its state machine (Core TS E.6): push by a Write of the image to
/// Package (/5/0/0; a large image arrives whole through the endpoint's Block1 reassembly), pull by a Write of a
/// `coap://` URI to Package URI (/5/0/1; fetched with `CoAPEndpoint.request`, Block2 included), validation by the
/// application, and Update (/5/0/2) running the application's installer.
///
/// State (/5/0/3) and Update Result (/5/0/5) move as the specification draws them: Idle -> Downloading ->
/// Downloaded (validation passed) -> Updating -> Idle with result 1 (success), or back to Downloaded with
/// result 8 (or the installer's result) on failure. A failed download or validation returns to Idle with the
/// result saying why. Writing an empty Package or Package URI resets to Idle with result 0. Errors of the
/// process are reported only by Update Result (E.6.1); operations the state machine does not allow in the
/// current state (a new image while one is downloading or downloaded, Update outside Downloaded) are refused
/// with 4.05 Method Not Allowed.
///
/// Install it with `LwM2MStandardObjects.installFirmwareUpdate(in:endpoint:validate:update:)`.
public final class LwM2MFirmwareUpdate: Sendable {
    /// The State resource (/5/0/3).
    public enum State: Int64, Sendable, Hashable {
        /// No image.
        case idle = 0
        /// An image is being received or fetched.
        case downloading = 1
        /// A validated image waits for Update.
        case downloaded = 2
        /// The installer runs.
        case updating = 3
    }

    /// The Update Result resource (/5/0/5).
    public enum Result: Int64, Sendable, Hashable {
        /// Initial value (also while downloading or updating).
        case initial = 0
        /// The firmware was updated.
        case success = 1
        /// Not enough flash memory for the new image.
        case notEnoughFlash = 2
        /// Out of RAM during download.
        case outOfRAM = 3
        /// The connection was lost during download.
        case connectionLost = 4
        /// The image failed the integrity check.
        case integrityCheckFailure = 5
        /// The package type is not supported.
        case unsupportedPackageType = 6
        /// The Package URI is invalid.
        case invalidURI = 7
        /// The update failed.
        case updateFailed = 8
        /// The URI's protocol is not supported.
        case unsupportedProtocol = 9
    }

    /// Thrown by the validation or update callbacks to choose the Update Result of the failure.
    public struct Failure: Error, Hashable, Sendable {
        /// The Update Result to report.
        public var result: Result
        /// Creates a failure reporting `result`.
        public init(_ result: Result) { self.result = result }
    }

    /// Checks a received image; throw `Failure` to choose the result (other errors report 5).
    public typealias Validator = @Sendable ([UInt8]) async throws -> Void
    /// Installs a validated image; throw `Failure` to choose the result (other errors report 8).
    public typealias Installer = @Sendable ([UInt8]) async throws -> Void

    struct Machine: Sendable {
        var state: State = .idle
        var result: Result = .initial
        var image: [UInt8]?
        /// Bumped by every transition that abandons work in progress (a reset), so late completions are dropped.
        var generation: UInt64 = 0
        var work: Task<Void, Never>?
    }

    /// The tree holding the object.
    public let tree: LwM2MObjectTree
    /// The endpoint pull downloads use (`nil`: push only).
    public let endpoint: CoAPEndpoint?
    private let validator: Validator
    private let installer: Installer
    private let machine = Mutex(Machine())

    init(tree: LwM2MObjectTree, endpoint: CoAPEndpoint?, validate: @escaping Validator, update: @escaping Installer) {
        self.tree = tree
        self.endpoint = endpoint
        self.validator = validate
        self.installer = update
    }

    /// The current state.
    public var state: State { machine.withLock { $0.state } }
    /// The current update result.
    public var result: Result { machine.withLock { $0.result } }

    /// Waits until the download, validation or update in progress (if any) has finished.
    public func settle() async {
        while let work = machine.withLock({ $0.work }) {
            await work.value
            let done = machine.withLock { m -> Bool in
                if m.work == work { m.work = nil }
                return m.work == nil
            }
            if done { return }
        }
    }

    // MARK: - Installation

    func install() throws(LwM2MClientError) {
        if tree.definition(of: 5) == nil { try tree.addObject(5) }
        var values: [UInt16: LwM2MValue] = [1: .string(""), 3: .integer(0), 5: .integer(0)]
        let definition = tree.definition(of: 5)
        // Delivery Method: 0 pull only, 1 push only, 2 both.
        if definition?.resource(9) != nil { values[9] = .integer(endpoint == nil ? 1 : 2) }
        try tree.createInstance(5, id: 0, values: values)
        // Protocol Support: 0 = CoAP (RFC 7252) when pull is possible.
        if definition?.resource(8) != nil, endpoint != nil { try tree.setInstances(.resource(5, 0, 8), [0: .integer(0)]) }
        tree.onValidate(5, 0, 0) { [weak self] path, value in
            guard let self else { return }
            try self.checkNewImage(isEmpty: value == .opaque([]), path)
        }
        tree.onValidate(5, 0, 1) { [weak self] path, value in
            guard let self else { return }
            try self.checkNewImage(isEmpty: value == .string(""), path)
        }
        tree.onWrite(5, 0, 0) { [weak self] _, value in
            guard let self, case .opaque(let bytes) = value else { return }
            if bytes.isEmpty { self.reset() } else { self.received(bytes) }
        }
        tree.onWrite(5, 0, 1) { [weak self] _, value in
            guard let self, case .string(let uri) = value else { return }
            if uri.isEmpty { self.reset() } else { self.pull(uri) }
        }
        tree.onExecute(5, 0, 2) { [weak self] path, _ in
            guard let self else { return }
            try self.startUpdate(path)
        }
    }

    /// A new image may arrive in Idle only; an empty one (a reset) anywhere but while updating.
    private func checkNewImage(isEmpty: Bool, _ path: LwM2MPath) throws(LwM2MClientError) {
        let state = self.state
        if isEmpty ? state == .updating : state != .idle {
            throw .methodNotAllowed("firmware update is \(state); write \(isEmpty ? "reset" : "image") refused", path)
        }
    }

    // MARK: - Transitions

    /// Moves to `state`/`result` (when `generation` is still current) and publishes both in one batch.
    @discardableResult
    private func transition(
        to state: State, result: Result, image: [UInt8]?? = .none, ifGeneration generation: UInt64? = nil,
        newGeneration: Bool = false
    ) -> UInt64? {
        let current: UInt64? = machine.withLock { m in
            if let generation, generation != m.generation { return nil }
            m.state = state
            m.result = result
            if case .some(let image) = image { m.image = image }
            if newGeneration {
                m.generation += 1
                m.work?.cancel()
                m.work = nil
            }
            return m.generation
        }
        guard current != nil else { return nil }
        tree.batch {
            try? tree.set(.resource(5, 0, 3), .integer(state.rawValue))
            try? tree.set(.resource(5, 0, 5), .integer(result.rawValue))
        }
        return current
    }

    private func start(_ generation: UInt64, _ body: @escaping @Sendable () async -> Void) {
        let task = Task { await body() }
        machine.withLock { m in
            if m.generation == generation { m.work = task }
        }
    }

    private func reset() {
        transition(to: .idle, result: .initial, image: .some(nil), newGeneration: true)
        try? tree.set(.resource(5, 0, 1), .string(""))
    }

    /// Push: the whole image arrived in /5/0/0.
    private func received(_ bytes: [UInt8]) {
        // The Package resource is write-only: do not keep a second copy of the image in the tree.
        try? tree.set(.resource(5, 0, 0), .opaque([]))
        guard let generation = transition(to: .downloading, result: .initial, image: .some(nil), newGeneration: true)
        else { return }
        start(generation) { [self] in await self.validate(bytes, generation) }
    }

    /// Pull: fetch `uri` over CoAP, then validate.
    private func pull(_ uri: String) {
        guard let generation = transition(to: .downloading, result: .initial, image: .some(nil), newGeneration: true)
        else { return }
        start(generation) { [self] in
            let bytes: [UInt8]
            switch await self.download(uri) {
            case .success(let b): bytes = b
            case .failure(let failure):
                self.transition(to: .idle, result: failure.result, ifGeneration: generation)
                return
            }
            await self.validate(bytes, generation)
        }
    }

    private func validate(_ bytes: [UInt8], _ generation: UInt64) async {
        do {
            try await validator(bytes)
            transition(to: .downloaded, result: .initial, image: .some(bytes), ifGeneration: generation)
        } catch let failure as Failure {
            transition(to: .idle, result: failure.result, ifGeneration: generation)
        } catch {
            transition(to: .idle, result: .integrityCheckFailure, ifGeneration: generation)
        }
    }

    private func startUpdate(_ path: LwM2MPath) throws(LwM2MClientError) {
        let image: [UInt8]? = machine.withLock { m in
            guard m.state == .downloaded, let image = m.image else { return nil }
            m.state = .updating
            m.result = .initial
            return image
        }
        guard let image else {
            throw .methodNotAllowed("Update needs a downloaded image (state \(state))", path)
        }
        guard let generation = transition(to: .updating, result: .initial) else { return }
        // The Execute is answered at once; the installer runs after it (it may reboot the device).
        start(generation) { [self] in
            do {
                try await self.installer(image)
                self.transition(to: .idle, result: .success, image: .some(nil), ifGeneration: generation)
            } catch let failure as Failure {
                self.transition(to: .downloaded, result: failure.result, ifGeneration: generation)
            } catch {
                self.transition(to: .downloaded, result: .updateFailed, ifGeneration: generation)
            }
        }
    }

    // MARK: - Pull download

    /// The parts of a `coap://` URI.
    struct Location: Equatable, Sendable {
        var host: String
        var port: Int
        var path: [String]
        var query: [String]
    }

    /// Parses a Package URI: `coap://host[:port]/path?query` (IPv6 literals in brackets). Other schemes that
    /// are URIs report 9 (unsupported protocol); anything else 7 (invalid URI).
    static func parse(_ uri: String) -> Swift.Result<Location, Failure> {
        guard let colon = uri.firstIndex(of: ":"), uri[colon...].hasPrefix("://") else {
            return .failure(Failure(.invalidURI))
        }
        let scheme = uri[..<colon].lowercased()
        guard scheme == "coap" else {
            let known = ["coaps", "http", "https", "coap+tcp", "coaps+tcp"]
            return .failure(Failure(known.contains(scheme) ? .unsupportedProtocol : .invalidURI))
        }
        var rest = uri[uri.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var query: [String] = []
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...].split(separator: "&").map(String.init)
            rest = rest[..<q]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...].split(separator: "/").map(String.init)
        var host = Substring(authority)
        var port = 5683
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(Failure(.invalidURI)) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65_535).contains(p) else {
                    return .failure(Failure(.invalidURI))
                }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65_535).contains(p) else {
                return .failure(Failure(.invalidURI))
            }
            port = p
            host = authority[..<colon]
        }
        guard !host.isEmpty else { return .failure(Failure(.invalidURI)) }
        return .success(Location(host: String(host), port: port, path: path, query: query))
    }

    private func download(_ uri: String) async -> Swift.Result<[UInt8], Failure> {
        await Self.fetch(uri, with: endpoint)
    }

    /// Fetches a `coap://` URI with `endpoint` (Block2 transparently); the failure says which Update Result
    /// applies. Shared with Software Management.
    static func fetch(_ uri: String, with endpoint: CoAPEndpoint?) async -> Swift.Result<[UInt8], Failure> {
        guard let endpoint else { return .failure(Failure(.unsupportedProtocol)) }
        let location: Location
        switch Self.parse(uri) {
        case .success(let l): location = l
        case .failure(let f): return .failure(f)
        }
        let address: SocketAddress
        do {
            if let literal = try? SocketAddress(ipAddress: location.host, port: location.port) {
                address = literal
            } else {
                address = try SocketAddress.makeAddressResolvingHost(location.host, port: location.port)
            }
        } catch {
            return .failure(Failure(.invalidURI))
        }
        var request = CoAPMessage.request(.get, path: "")
        request.uriPath = location.path
        if !location.query.isEmpty { request.uriQuery = location.query }
        let response: CoAPMessage
        do {
            response = try await endpoint.request(request, to: address)
        } catch {
            return .failure(Failure(error.code == .blockTransferFailed ? .outOfRAM : .connectionLost))
        }
        guard response.code.isSuccess else {
            // 4.xx: the URI names nothing the server will give us; 5.xx: the server failed the transfer.
            return .failure(Failure(response.code.codeClass == 4 ? .invalidURI : .connectionLost))
        }
        return .success(response.payloadBytes)
    }
}

extension LwM2MStandardObjects {
    /// Adds Firmware Update (5) instance 0 and its state machine. `endpoint` is the client's endpoint, used to
    /// pull images from a Package URI (`nil`: push only); `validate` checks each received image (throw to
    /// refuse it), `update` installs it when the server executes /5/0/2.
    ///
    /// ```swift
    /// let firmware = try LwM2MStandardObjects.installFirmwareUpdate(
    ///     in: tree, endpoint: endpoint,
    ///     validate: { image in guard image.starts(with: [0x7F, 0x45]) else { throw LwM2MFirmwareUpdate.Failure(.unsupportedPackageType) } },
    ///     update: { image in try await flash(image) })
    /// ```
    @discardableResult
    public static func installFirmwareUpdate(
        in tree: LwM2MObjectTree, endpoint: CoAPEndpoint? = nil,
        validate: @escaping LwM2MFirmwareUpdate.Validator = { _ in },
        update: @escaping LwM2MFirmwareUpdate.Installer
    ) throws(LwM2MClientError) -> LwM2MFirmwareUpdate {
        let firmware = LwM2MFirmwareUpdate(tree: tree, endpoint: endpoint, validate: validate, update: update)
        try firmware.install()
        return firmware
    }
}
