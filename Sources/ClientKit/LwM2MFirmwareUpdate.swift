public import CoAPCore
import LwM2MModel
import NIOCore
import Synchronization

/// Firmware Update (object 5, instance 0) and its state machine (Core TS E.6): push by a Write of the image to
/// Package (/5/0/0; a large image arrives whole through the endpoint's Block1 reassembly), pull by a Write of a
/// `coap://` or `coaps://` URI to Package URI (/5/0/1; fetched with `CoAPEndpoint.request`, Block2 included), validation by the
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
    /// The endpoint `coap://` pull downloads use (`nil`: no `coap://` pulls).
    public let endpoint: CoAPEndpoint?
    /// Opens the DTLS connections of `coaps://` pulls (`nil`: no `coaps://` pulls).
    public let transports: (any LwM2MTransportFactory)?
    private let validator: Validator
    private let installer: Installer
    private let machine = Mutex(Machine())

    init(
        tree: LwM2MObjectTree, endpoint: CoAPEndpoint?, transports: (any LwM2MTransportFactory)?,
        validate: @escaping Validator, update: @escaping Installer
    ) {
        self.tree = tree
        self.endpoint = endpoint
        self.transports = transports
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
        let canPull = endpoint != nil || transports != nil
        if definition?.resource(9) != nil { values[9] = .integer(canPull ? 2 : 1) }
        try tree.createInstance(5, id: 0, values: values)
        // Protocol Support: 0 = CoAP (RFC 7252), 1 = CoAPS (RFC 7252 over DTLS) for the pulls this client can do.
        var protocols: [UInt16: LwM2MValue] = [:]
        if endpoint != nil { protocols[UInt16(protocols.count)] = .integer(0) }
        if transports != nil { protocols[UInt16(protocols.count)] = .integer(1) }
        if definition?.resource(8) != nil, !protocols.isEmpty { try tree.setInstances(.resource(5, 0, 8), protocols) }
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
        // Only resources whose value changes are set: a set counts as a change for observers, so re-setting an
        // unchanged Update Result would notify it again (e.g. /5/0/5 = 1 twice across Updating -> Idle).
        tree.batch {
            for (resource, value) in [(UInt16(3), state.rawValue), (5, result.rawValue)]
            where tree.value(at: .resource(5, 0, resource)) != .integer(value) {
                try? tree.set(.resource(5, 0, resource), .integer(value))
            }
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

    /// Pull: fetch `uri` over CoAP or CoAPS, then validate.
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

    /// The parts of a `coap://` or `coaps://` URI, path segments and query items percent-decoded.
    struct Location: Equatable, Sendable {
        var scheme: String = "coap"
        var host: String
        var port: Int
        var path: [String]
        var query: [String]
    }

    /// Parses a Package URI: `coap[s]://host[:port]/path?query` (IPv6 literals in brackets) the way RFC 7252
    /// 6.4 turns a URI into options: the path is split at `/` and the query at `&` first, then every segment
    /// is percent-decoded (so `%2F` stays inside its Uri-Path option). A malformed escape (`%` not followed by
    /// two hex digits), a decoded segment that is not UTF-8, or a bad authority report 7 (invalid URI); other
    /// schemes that are URIs report 9 (unsupported protocol).
    static func parse(_ uri: String) -> Swift.Result<Location, Failure> {
        guard let colon = uri.firstIndex(of: ":"), uri[colon...].hasPrefix("://") else {
            return .failure(Failure(.invalidURI))
        }
        let scheme = uri[..<colon].lowercased()
        guard scheme == "coap" || scheme == "coaps" else {
            let known = ["http", "https", "coap+tcp", "coaps+tcp", "coap+ws", "coaps+ws"]
            return .failure(Failure(known.contains(scheme) ? .unsupportedProtocol : .invalidURI))
        }
        var rest = uri[uri.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var queryText: [Substring] = []
        if let q = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: q)...].split(separator: "&")
            rest = rest[..<q]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var host = Substring(authority)
        var port = scheme == "coaps" ? 5684 : 5683
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
        guard let decodedHost = percentDecoded(host), !decodedHost.isEmpty else { return .failure(Failure(.invalidURI)) }
        var path: [String] = []
        for segment in rest[authorityEnd...].split(separator: "/") {
            guard let decoded = percentDecoded(segment) else { return .failure(Failure(.invalidURI)) }
            // RFC 3986 5.2.4: "." segments name the current level; ".." the parent.
            if decoded == "." && segment == "." { continue }
            if decoded == ".." && segment == ".." { _ = path.popLast(); continue }
            path.append(decoded)
        }
        var query: [String] = []
        for item in queryText {
            guard let decoded = percentDecoded(item) else { return .failure(Failure(.invalidURI)) }
            query.append(decoded)
        }
        return .success(Location(scheme: scheme, host: decodedHost, port: port, path: path, query: query))
    }

    /// `text` with every `%HH` replaced by its byte (RFC 3986 2.1), or `nil` for a malformed escape or a
    /// result that is not UTF-8 (option values of Uri-Path and Uri-Query are strings).
    static func percentDecoded(_ text: Substring) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hex), let low = iterator.next().flatMap(hex) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private func download(_ uri: String) async -> Swift.Result<[UInt8], Failure> {
        await Self.fetch(uri, with: endpoint, tree: tree, transports: transports)
    }

    /// The credentials for a `coaps://` download from `host:port`: the Security instance whose Server URI
    /// names that host and port (also one without a Server instance, provisioned for the download server;
    /// server accounts before the bootstrap account), otherwise the first LwM2M Server account with DTLS
    /// credentials. The account's URI is replaced by the download's.
    static func downloadAccount(host: String, port: Int, in tree: LwM2MObjectTree) -> LwM2MServerAccount? {
        let secure = LwM2MServerAccount.accounts(in: tree, includingUnpaired: true)
            .filter { $0.securityMode != .noSecurity }
        func matches(_ account: LwM2MServerAccount) -> Bool {
            guard let uri = try? LwM2MServerURI(parsing: account.serverURI) else { return false }
            return uri.host.lowercased() == host.lowercased() && uri.port == port
        }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        guard var account = secure.first(where: matches) 
            ?? secure.first(where: { !$0.isBootstrapServer && $0.serverInstanceID != nil }) else {
            return nil
        }
        account.serverURI = "coaps://\(bracketed):\(port)"
        return account
    }

    /// Fetches a `coap://` URI with `endpoint` or a `coaps://` URI over a DTLS connection `transports` opens
    /// with the credentials `downloadAccount(host:port:in:)` picks from `tree` (Block2 transparently); the
    /// failure says which Update Result applies. Shared with Software Management.
    static func fetch(
        _ uri: String, with endpoint: CoAPEndpoint?, tree: LwM2MObjectTree? = nil,
        transports: (any LwM2MTransportFactory)? = nil
    ) async -> Swift.Result<[UInt8], Failure> {
        let location: Location
        switch Self.parse(uri) {
        case .success(let l): location = l
        case .failure(let f): return .failure(f)
        }
        var request = CoAPMessage.request(.get, path: "")
        request.uriPath = location.path
        if !location.query.isEmpty { request.uriQuery = location.query }
        if location.scheme == "coaps" {
            guard let transports, let tree else { return .failure(Failure(.unsupportedProtocol)) }
            guard let account = downloadAccount(host: location.host, port: location.port, in: tree) else {
                // No DTLS credentials at all: CoAPS cannot be used by this client.
                return .failure(Failure(.unsupportedProtocol))
            }
            let connection: LwM2MConnection
            do {
                connection = try await transports.connect(account)
            } catch let error as LwM2MConnectionError {
                return .failure(Failure(error.code == .unresolvableHost ? .invalidURI : .connectionLost))
            } catch {
                return .failure(Failure(.connectionLost))
            }
            let secure = CoAPEndpoint(transport: connection.transport)
            let result = await get(request, from: connection.server, with: secure)
            await secure.close()
            return result
        }
        guard let endpoint else { return .failure(Failure(.unsupportedProtocol)) }
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
        return await get(request, from: address, with: endpoint)
    }

    private static func get(
        _ request: CoAPMessage, from address: SocketAddress, with endpoint: CoAPEndpoint
    ) async -> Swift.Result<[UInt8], Failure> {
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
    /// pull images from a `coap://` Package URI; `transports` opens the DTLS connection of a `coaps://` one (with
    /// the credentials of the Security instance whose Server URI names the download's host and port, else of the
    /// first server account with DTLS credentials); with neither, push only. `validate` checks each received
    /// image (throw to refuse it), `update` installs it when the server executes /5/0/2.
    ///
    /// ```swift
    /// let firmware = try LwM2MStandardObjects.installFirmwareUpdate(
    ///     in: tree, endpoint: endpoint,
    ///     validate: { image in guard image.starts(with: [0x7F, 0x45]) else { throw LwM2MFirmwareUpdate.Failure(.unsupportedPackageType) } },
    ///     update: { image in try await flash(image) })
    /// ```
    @discardableResult
    public static func installFirmwareUpdate(
        in tree: LwM2MObjectTree, endpoint: CoAPEndpoint? = nil, transports: (any LwM2MTransportFactory)? = nil,
        validate: @escaping LwM2MFirmwareUpdate.Validator = { _ in },
        update: @escaping LwM2MFirmwareUpdate.Installer
    ) throws(LwM2MClientError) -> LwM2MFirmwareUpdate {
        let firmware = LwM2MFirmwareUpdate(
            tree: tree, endpoint: endpoint, transports: transports, validate: validate, update: update)
        try firmware.install()
        return firmware
    }
}
