public import CoAPCore
import LwM2MModel
import Synchronization

/// One instance of Software Management (object 9) and its state machine: a package arrives by a Write to Package
/// (/9/x/2, push) or is fetched from a `coap://` Package URI (/9/x/3, pull) -> DOWNLOAD STARTED -> DOWNLOADED ->
/// the application's validation -> DELIVERED; Install (/9/x/4) -> INSTALLED; Activate/Deactivate (/9/x/10,
/// /9/x/11) switch Activation State (/9/x/12) while installed; Uninstall (/9/x/6, argument `1` = in preparation
/// for an update) returns to INITIAL. Update State is /9/x/7, Update Result /9/x/9 (0 initial, 1 downloading,
/// 2 installed, 3 downloaded and verified, 50-59 errors). Operations outside their states are refused with 4.05.
///
/// Install it with `LwM2MStandardObjects.installSoftwareManagement(in:...)`.
public final class LwM2MSoftwareManagement: Sendable {
    /// Update State (/9/x/7).
    public enum State: Int64, Sendable, Hashable {
        /// No package.
        case initial = 0
        /// The package is being received or fetched.
        case downloadStarted = 1
        /// The package was received and is being verified.
        case downloaded = 2
        /// The package is verified and ready to install.
        case delivered = 3
        /// The software is installed.
        case installed = 4
    }

    /// Update Result (/9/x/9).
    public enum Result: Int64, Sendable, Hashable {
        /// Initial value.
        case initial = 0
        /// Downloading.
        case downloading = 1
        /// The software was installed.
        case installed = 2
        /// The package was downloaded and verified.
        case downloadedAndVerified = 3
        /// Not enough storage for the package.
        case notEnoughStorage = 50
        /// Out of memory during download.
        case outOfMemory = 51
        /// The connection was lost during download.
        case connectionLost = 52
        /// The package failed the integrity check.
        case integrityCheckFailure = 53
        /// The package type is not supported.
        case unsupportedPackageType = 54
        /// The Package URI is invalid.
        case invalidURI = 56
        /// A device-defined update error.
        case updateError = 57
        /// The installation failed.
        case installationFailure = 58
        /// The uninstallation failed.
        case uninstallationFailure = 59
    }

    /// Thrown by the callbacks to choose the Update Result of a failure.
    public struct Failure: Error, Hashable, Sendable {
        /// The Update Result to report.
        public var result: Result
        /// Creates a failure reporting `result`.
        public init(_ result: Result) { self.result = result }
    }

    /// The application's callbacks.
    public struct Callbacks: Sendable {
        /// Checks a received package (throw to refuse it; other errors report 53).
        public var validate: @Sendable ([UInt8]) async throws -> Void
        /// Installs the package (other errors report 58).
        public var install: @Sendable ([UInt8]) async throws -> Void
        /// Removes the software; the flag is true when it is uninstalled to prepare an update (other errors: 59).
        public var uninstall: @Sendable (_ forUpdate: Bool) async throws -> Void
        /// Activates (true) or deactivates (false) the installed software.
        public var activate: @Sendable (Bool) async throws -> Void

        /// Creates callbacks; the defaults accept everything.
        public init(
            validate: @escaping @Sendable ([UInt8]) async throws -> Void = { _ in },
            install: @escaping @Sendable ([UInt8]) async throws -> Void = { _ in },
            uninstall: @escaping @Sendable (_ forUpdate: Bool) async throws -> Void = { _ in },
            activate: @escaping @Sendable (Bool) async throws -> Void = { _ in }
        ) {
            self.validate = validate
            self.install = install
            self.uninstall = uninstall
            self.activate = activate
        }
    }

    struct Machine: Sendable {
        var state: State = .initial
        var result: Result = .initial
        var package: [UInt8]?
        var active = false
        var generation: UInt64 = 0
        var work: Task<Void, Never>?
    }

    /// The tree holding the object.
    public let tree: LwM2MObjectTree
    /// The instance ID.
    public let instanceID: UInt16
    /// The endpoint pull downloads use (`nil`: push only).
    public let endpoint: CoAPEndpoint?
    private let callbacks: Callbacks
    private let machine = Mutex(Machine())

    init(tree: LwM2MObjectTree, instanceID: UInt16, endpoint: CoAPEndpoint?, callbacks: Callbacks) {
        self.tree = tree
        self.instanceID = instanceID
        self.endpoint = endpoint
        self.callbacks = callbacks
    }

    /// The current Update State.
    public var state: State { machine.withLock { $0.state } }
    /// The current Update Result.
    public var result: Result { machine.withLock { $0.result } }
    /// Whether the installed software is active.
    public var isActive: Bool { machine.withLock { $0.active } }

    /// Waits until the download, verification or installation in progress (if any) has finished.
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

    func install(name: String, version: String) throws(LwM2MClientError) {
        let i = instanceID
        if tree.definition(of: 9) == nil { try tree.addObject(9) }
        try tree.createInstance(9, id: i, values: [
            0: .string(name), 1: .string(version), 7: .integer(0), 8: .boolean(false), 9: .integer(0),
            12: .boolean(false),
        ])
        tree.onValidate(9, i, 2) { [weak self] path, _ in try self?.require(.initial, path) }
        tree.onValidate(9, i, 3) { [weak self] path, _ in try self?.require(.initial, path) }
        tree.onWrite(9, i, 2) { [weak self] _, value in
            guard let self, case .opaque(let bytes) = value else { return }
            try? self.tree.set(.resource(9, i, 2), .opaque([]))  // write-only: keep no copy
            self.begin { _ in .success(bytes) }
        }
        tree.onWrite(9, i, 3) { [weak self] _, value in
            guard let self, case .string(let uri) = value else { return }
            let endpoint = self.endpoint
            self.begin { _ in
                switch await LwM2MFirmwareUpdate.fetch(uri, with: endpoint) {
                case .success(let bytes): return .success(bytes)
                case .failure(let f):
                    switch f.result {
                    case .connectionLost: return .failure(Failure(.connectionLost))
                    case .outOfRAM: return .failure(Failure(.outOfMemory))
                    default: return .failure(Failure(.invalidURI))
                    }
                }
            }
        }
        tree.onExecute(9, i, 4) { [weak self] path, _ in
            guard let self else { return }
            let package = try self.take(.delivered, path)
            await self.run(fallback: .installationFailure, failureState: .delivered) {
                try await self.callbacks.install(package ?? [])
                return (.installed, .installed)
            }
        }
        tree.onExecute(9, i, 6) { [weak self] path, arguments in
            guard let self else { return }
            let state = self.state
            guard state == .installed || state == .delivered else {
                throw LwM2MClientError.methodNotAllowed("Uninstall in state \(state)", path)
            }
            // Core TS 5.4.5 arguments: "1" (argument 1 given) or "0='1'" (argument 0 with value 1) mean for an update.
            let forUpdate = arguments == "1" || arguments == "0='1'"
            await self.run(fallback: .uninstallationFailure, failureState: state) {
                try await self.callbacks.uninstall(forUpdate)
                self.machine.withLock { $0.active = false; $0.package = nil }
                try? self.tree.set(.resource(9, i, 12), .boolean(false))
                return (.initial, .initial)
            }
        }
        tree.onExecute(9, i, 10) { [weak self] path, _ in try await self?.setActive(true, path) }
        tree.onExecute(9, i, 11) { [weak self] path, _ in try await self?.setActive(false, path) }
    }

    private func require(_ expected: State, _ path: LwM2MPath) throws(LwM2MClientError) {
        let state = self.state
        guard state == expected else { throw .methodNotAllowed("software management is \(state), not \(expected)", path) }
    }

    private func take(_ expected: State, _ path: LwM2MPath) throws(LwM2MClientError) -> [UInt8]? {
        try require(expected, path)
        return machine.withLock { $0.package }
    }

    private func setActive(_ on: Bool, _ path: LwM2MPath) async throws {
        try require(.installed, path)
        try await callbacks.activate(on)
        machine.withLock { $0.active = on }
        try tree.set(.resource(9, instanceID, 12), .boolean(on))
    }

    /// Publishes state and result in one batch.
    private func publish(_ state: State, _ result: Result) {
        machine.withLock { m in
            m.state = state
            m.result = result
        }
        tree.batch {
            try? tree.set(.resource(9, instanceID, 7), .integer(state.rawValue))
            try? tree.set(.resource(9, instanceID, 9), .integer(result.rawValue))
        }
    }

    /// Runs an Install/Uninstall callback, publishing its outcome or the failure's result.
    private func run(
        fallback: Result, failureState: State, _ body: @Sendable () async throws -> (State, Result)
    ) async {
        do {
            let (state, result) = try await body()
            publish(state, result)
        } catch let failure as Failure {
            publish(failureState, failure.result)
        } catch {
            publish(failureState, fallback)
        }
    }

    /// DOWNLOAD STARTED, then `obtain` the package, DOWNLOADED, validation, DELIVERED (or INITIAL on failure).
    private func begin(_ obtain: @escaping @Sendable (UInt64) async -> Swift.Result<[UInt8], Failure>) {
        let generation = machine.withLock { m -> UInt64 in
            m.generation += 1
            m.work?.cancel()
            m.work = nil
            return m.generation
        }
        publish(.downloadStarted, .downloading)
        let task = Task { [self] in
            func current() -> Bool { machine.withLock { $0.generation == generation } }
            switch await obtain(generation) {
            case .failure(let failure):
                if current() { publish(.initial, failure.result) }
            case .success(let bytes):
                guard current() else { return }
                publish(.downloaded, .downloading)
                do {
                    try await callbacks.validate(bytes)
                    guard current() else { return }
                    machine.withLock { $0.package = bytes }
                    publish(.delivered, .downloadedAndVerified)
                } catch let failure as Failure {
                    if current() { publish(.initial, failure.result) }
                } catch {
                    if current() { publish(.initial, .integrityCheckFailure) }
                }
            }
        }
        machine.withLock { m in if m.generation == generation { m.work = task } }
    }
}

extension LwM2MStandardObjects {
    /// Adds instance `instanceID` of Software Management (9) for package `name`/`version` with its state machine;
    /// `endpoint` pulls packages from Package URIs (`nil`: push only).
    @discardableResult
    public static func installSoftwareManagement(
        in tree: LwM2MObjectTree, instanceID: UInt16 = 0, name: String, version: String, endpoint: CoAPEndpoint? = nil,
        callbacks: LwM2MSoftwareManagement.Callbacks = .init()
    ) throws(LwM2MClientError) -> LwM2MSoftwareManagement {
        let software = LwM2MSoftwareManagement(tree: tree, instanceID: instanceID, endpoint: endpoint, callbacks: callbacks)
        try software.install(name: name, version: version)
        return software
    }
}
