public import CoAPCore
import LwM2MModel
import NIOCore
import Synchronization

/// Connectivity Statistics (object 7, instance 0): counters the application feeds with `record(...)`, collected
/// between Start (/7/0/6, which resets them) and Stop (/7/0/7) or the end of the Collection Period (/7/0/8,
/// seconds; 0 = until Stop). SMS Tx/Rx counters (/7/0/0, /7/0/1), Tx/Rx Data in kilobytes (/7/0/2, /7/0/3),
/// Max and Average Message Size in bytes (/7/0/4, /7/0/5).
///
/// Install it with `LwM2MStandardObjects.installConnectivityStatistics(in:clock:)`.
public final class LwM2MConnectivityStatistics: Sendable {
    struct Counters: Sendable {
        var collecting = false
        var smsSent: Int64 = 0
        var smsReceived: Int64 = 0
        var bytesSent: Int64 = 0
        var bytesReceived: Int64 = 0
        var messages: Int64 = 0
        var messageBytes: Int64 = 0
        var maxMessage: Int64 = 0
        var period: Task<Void, Never>?
    }

    /// The tree holding the object.
    public let tree: LwM2MObjectTree
    /// The clock that ends the collection period.
    public let clock: any CoAPClock
    private let counters = Mutex(Counters())

    init(tree: LwM2MObjectTree, clock: any CoAPClock) {
        self.tree = tree
        self.clock = clock
    }

    /// Whether statistics are being collected (between Start and Stop).
    public var isCollecting: Bool { counters.withLock { $0.collecting } }

    func install() throws(LwM2MClientError) {
        if tree.definition(of: 7) == nil { try tree.addObject(7) }
        try tree.createInstance(7, id: 0, values: [
            0: .integer(0), 1: .integer(0), 2: .integer(0), 3: .integer(0), 4: .integer(0), 5: .integer(0),
            8: .integer(0),
        ])
        tree.onExecute(7, 0, 6) { [weak self] _, _ in self?.start() }
        tree.onExecute(7, 0, 7) { [weak self] _, _ in self?.stop() }
    }

    /// Resets the counters and starts collecting (what Start /7/0/6 does).
    public func start() {
        var seconds: Int64 = 0
        if case .integer(let p) = tree.value(at: .resource(7, 0, 8)) { seconds = p }
        let clock = self.clock
        let deadline = clock.now + .seconds(seconds)
        let timer: Task<Void, Never>? = seconds > 0 ? Task { [weak self] in
            do { try await clock.sleep(until: deadline) } catch { return }
            self?.stop()
        } : nil
        counters.withLock { c in
            c.period?.cancel()
            c = Counters(collecting: true, period: timer)
        }
        publish()
    }

    /// Stops collecting; the counters keep their values (what Stop /7/0/7 does).
    public func stop() {
        counters.withLock { c in
            c.collecting = false
            c.period?.cancel()
            c.period = nil
        }
    }

    /// Counts traffic while collecting: SMS sent/received, and IP messages of the given sizes in bytes.
    public func record(smsSent: Int64 = 0, smsReceived: Int64 = 0, sentMessage: Int64? = nil, receivedMessage: Int64? = nil) {
        let counted = counters.withLock { c -> Bool in
            guard c.collecting else { return false }
            c.smsSent += smsSent
            c.smsReceived += smsReceived
            for (size, sent) in [(sentMessage, true), (receivedMessage, false)] {
                guard let size, size >= 0 else { continue }
                if sent { c.bytesSent += size } else { c.bytesReceived += size }
                c.messages += 1
                c.messageBytes += size
                c.maxMessage = max(c.maxMessage, size)
            }
            return true
        }
        if counted { publish() }
    }

    private func publish() {
        let c = counters.withLock { $0 }
        tree.batch {
            try? tree.set(.resource(7, 0, 0), .integer(c.smsSent))
            try? tree.set(.resource(7, 0, 1), .integer(c.smsReceived))
            try? tree.set(.resource(7, 0, 2), .integer(c.bytesSent / 1024))
            try? tree.set(.resource(7, 0, 3), .integer(c.bytesReceived / 1024))
            try? tree.set(.resource(7, 0, 4), .integer(c.maxMessage))
            try? tree.set(.resource(7, 0, 5), .integer(c.messages == 0 ? 0 : c.messageBytes / c.messages))
        }
    }
}

extension LwM2MStandardObjects {
    /// What Connectivity Monitoring (4) reports; `nil` and empty fields leave the resource out (on update:
    /// unchanged for `nil` single values).
    public struct ConnectivityInfo: Sendable, Hashable {
        /// Network Bearer (/4/0/0): e.g. 0 GSM, 6 LTE-TDD, 7 LTE-FDD, 21 WLAN, 41 Ethernet.
        public var networkBearer: Int64
        /// Available Network Bearers (/4/0/1).
        public var availableBearers: [Int64]
        /// Radio Signal Strength in dBm (/4/0/2).
        public var radioSignalStrength: Int64
        /// Link Quality (/4/0/3).
        public var linkQuality: Int64?
        /// IP Addresses (/4/0/4).
        public var ipAddresses: [String]
        /// Router IP Addresses (/4/0/5).
        public var routerIPAddresses: [String]
        /// Link Utilization in percent (/4/0/6).
        public var linkUtilization: Int64?
        /// APNs (/4/0/7).
        public var apn: [String]
        /// Cell ID (/4/0/8).
        public var cellID: Int64?
        /// Serving Mobile Network Code (/4/0/9).
        public var smnc: Int64?
        /// Serving Mobile Country Code (/4/0/10).
        public var smcc: Int64?

        /// Creates connectivity information.
        public init(
            networkBearer: Int64 = 41, availableBearers: [Int64] = [41], radioSignalStrength: Int64 = 0,
            linkQuality: Int64? = nil, ipAddresses: [String] = [], routerIPAddresses: [String] = [],
            linkUtilization: Int64? = nil, apn: [String] = [], cellID: Int64? = nil, smnc: Int64? = nil, smcc: Int64? = nil
        ) {
            self.networkBearer = networkBearer
            self.availableBearers = availableBearers
            self.radioSignalStrength = radioSignalStrength
            self.linkQuality = linkQuality
            self.ipAddresses = ipAddresses
            self.routerIPAddresses = routerIPAddresses
            self.linkUtilization = linkUtilization
            self.apn = apn
            self.cellID = cellID
            self.smnc = smnc
            self.smcc = smcc
        }
    }

    /// Adds Connectivity Monitoring (4) instance 0 with `info`.
    public static func installConnectivityMonitoring(
        in tree: LwM2MObjectTree, info: ConnectivityInfo = ConnectivityInfo()
    ) throws(LwM2MClientError) {
        if tree.definition(of: 4) == nil { try tree.addObject(4) }
        try tree.createInstance(4, id: 0)
        try updateConnectivityMonitoring(info, in: tree)
    }

    /// Publishes new connectivity values in one batch (one round of notifications).
    public static func updateConnectivityMonitoring(_ info: ConnectivityInfo, in tree: LwM2MObjectTree) throws(LwM2MClientError) {
        func list(_ values: [LwM2MValue]) -> [UInt16: LwM2MValue] {
            Dictionary(uniqueKeysWithValues: values.enumerated().map { (UInt16($0.offset), $0.element) })
        }
        do {
            try tree.batch {
                try tree.set(.resource(4, 0, 0), .integer(info.networkBearer))
                try tree.setInstances(.resource(4, 0, 1), list(info.availableBearers.map(LwM2MValue.integer)))
                try tree.set(.resource(4, 0, 2), .integer(info.radioSignalStrength))
                if let v = info.linkQuality { try tree.set(.resource(4, 0, 3), .integer(v)) }
                try tree.setInstances(.resource(4, 0, 4), list(info.ipAddresses.map(LwM2MValue.string)))
                try tree.setInstances(.resource(4, 0, 5), list(info.routerIPAddresses.map(LwM2MValue.string)))
                if let v = info.linkUtilization { try tree.set(.resource(4, 0, 6), .integer(v)) }
                try tree.setInstances(.resource(4, 0, 7), list(info.apn.map(LwM2MValue.string)))
                if let v = info.cellID { try tree.set(.resource(4, 0, 8), .integer(v)) }
                if let v = info.smnc { try tree.set(.resource(4, 0, 9), .integer(v)) }
                if let v = info.smcc { try tree.set(.resource(4, 0, 10), .integer(v)) }
            }
        } catch let error as LwM2MClientError {
            throw error
        } catch {
            throw LwM2MClientError(code: .internalError, reason: "\(error)")
        }
    }

    /// Adds Connectivity Statistics (7) instance 0; `clock` ends the Collection Period (/7/0/8).
    @discardableResult
    public static func installConnectivityStatistics(
        in tree: LwM2MObjectTree, clock: any CoAPClock = CoAPSystemClock()
    ) throws(LwM2MClientError) -> LwM2MConnectivityStatistics {
        let statistics = LwM2MConnectivityStatistics(tree: tree, clock: clock)
        try statistics.install()
        return statistics
    }
}
