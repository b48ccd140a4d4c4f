import LwM2MModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Installers for the standard objects on an `LwM2MObjectTree` (definitions come from the tree's provider).
public enum LwM2MStandardObjects {
    /// Seconds since 1970 from the system's real-time clock.
    public static func unixTime() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    /// Adds Security (0) with one instance for a server at `serverURI`: NoSec by default; for PSK
    /// `publicKeyOrIdentity` is the identity and `secretKey` the key; for certificates they are the client's
    /// certificate and private key and `serverPublicKey` the server's certificate or CA (all DER).
    public static func installSecurity(
        in tree: LwM2MObjectTree, instanceID: UInt16 = 0, serverURI: String, shortServerID: UInt16,
        isBootstrapServer: Bool = false, mode: LwM2MSecurityMode = .noSecurity, publicKeyOrIdentity: [UInt8] = [],
        serverPublicKey: [UInt8] = [], secretKey: [UInt8] = []
    ) throws(LwM2MClientError) {
        if tree.definition(of: 0) == nil { try tree.addObject(0) }
        try tree.createInstance(0, id: instanceID, values: [
            0: .string(serverURI), 1: .boolean(isBootstrapServer), 2: .integer(mode.rawValue),
            3: .opaque(publicKeyOrIdentity), 4: .opaque(serverPublicKey), 5: .opaque(secretKey),
            10: .integer(Int64(shortServerID)),
        ])
    }

    /// Adds Server (1) with one instance: short server ID, lifetime, default pmin/pmax, binding. When the tree has
    /// Access Control (2), the new instance gets an Access Control instance owned by its own server.
    public static func installServer(
        in tree: LwM2MObjectTree, instanceID: UInt16 = 0, shortServerID: UInt16, lifetime: UInt32,
        binding: String = "U", defaultMinimumPeriod: UInt32? = nil, defaultMaximumPeriod: UInt32? = nil
    ) throws(LwM2MClientError) {
        if tree.definition(of: 1) == nil { try tree.addObject(1) }
        var values: [UInt16: LwM2MValue] = [
            0: .integer(Int64(shortServerID)), 1: .integer(Int64(lifetime)), 5: .integer(86_400),
            6: .boolean(true), 7: .string(binding),
        ]
        if let defaultMinimumPeriod { values[2] = .integer(Int64(defaultMinimumPeriod)) }
        if let defaultMaximumPeriod { values[3] = .integer(Int64(defaultMaximumPeriod)) }
        try tree.createInstance(1, id: instanceID, values: values)
        if tree.definition(of: LwM2MAccessControl.objectID) != nil {
            try LwM2MAccessControl.setRights(in: tree, objectID: 1, instanceID: instanceID, owner: shortServerID, acl: [:])
        }
    }

    /// What the Device object (3) reports about the device.
    public struct DeviceInfo: Sendable, Hashable {
        /// Manufacturer (/3/0/0).
        public var manufacturer: String
        /// Model number (/3/0/1).
        public var modelNumber: String
        /// Serial number (/3/0/2).
        public var serialNumber: String
        /// Firmware version (/3/0/3).
        public var firmwareVersion: String
        /// Supported binding and modes (/3/0/16).
        public var supportedBinding: String
        /// Available power sources (/3/0/6), e.g. 1 = internal battery, 5 = USB.
        public var powerSources: [Int64]
        /// Total memory in KB (/3/0/21).
        public var memoryTotal: Int64

        /// Creates device information.
        public init(
            manufacturer: String = "swift-lwm2m", modelNumber: String = "lwm2m-client", serialNumber: String = "0001",
            firmwareVersion: String = "1.0.0", supportedBinding: String = "U", powerSources: [Int64] = [1, 5],
            memoryTotal: Int64 = 1024
        ) {
            self.manufacturer = manufacturer
            self.modelNumber = modelNumber
            self.serialNumber = serialNumber
            self.firmwareVersion = firmwareVersion
            self.supportedBinding = supportedBinding
            self.powerSources = powerSources
            self.memoryTotal = memoryTotal
        }
    }

    /// Adds Device (3) instance 0: identity, power sources, battery, memory, error codes with Reset Error
    /// (/3/0/12), current time (/3/0/13, writable: the offset is kept), UTC offset, timezone, and Reboot
    /// (/3/0/4) / Factory Reset (/3/0/5) calling the given handlers.
    public static func installDevice(
        in tree: LwM2MObjectTree, info: DeviceInfo = DeviceInfo(),
        reboot: @escaping @Sendable () async -> Void = {}, factoryReset: @escaping @Sendable () async -> Void = {}
    ) throws(LwM2MClientError) {
        if tree.definition(of: 3) == nil { try tree.addObject(3) }
        try tree.createInstance(3, id: 0, values: [
            0: .string(info.manufacturer), 1: .string(info.modelNumber), 2: .string(info.serialNumber),
            3: .string(info.firmwareVersion), 9: .integer(100), 10: .integer(info.memoryTotal / 2),
            13: .time(unixTime()), 14: .string("+00:00"), 15: .string("Etc/UTC"), 16: .string(info.supportedBinding),
        ])
        let d = tree.definition(of: 3)
        if d?.resource(21) != nil { try tree.set(.resource(3, 0, 21), .integer(info.memoryTotal)) }
        if d?.resource(20) != nil { try tree.set(.resource(3, 0, 20), .integer(0)) }
        try tree.setInstances(.resource(3, 0, 6), Dictionary(uniqueKeysWithValues: info.powerSources.enumerated().map {
            (UInt16($0.offset), LwM2MValue.integer($0.element))
        }))
        try tree.setInstances(.resource(3, 0, 11), [0: .integer(0)])
        // Current time follows the real-time clock plus whatever offset the server wrote.
        let offset = TimeOffset()
        tree.onRead(3, 0, 13) { _ in .time(unixTime() + offset.seconds) }
        tree.onWrite(3, 0, 13) { _, value in
            if case .time(let t) = value { offset.seconds = t - unixTime() }
        }
        tree.onExecute(3, 0, 4) { _, _ in await reboot() }
        tree.onExecute(3, 0, 5) { _, _ in await factoryReset() }
        tree.onExecute(3, 0, 12) { [weak tree] _, _ in try tree?.setInstances(.resource(3, 0, 11), [0: .integer(0)]) }
    }

    /// Records device error `code` in /3/0/11 (replacing the "no error" 0 entry).
    public static func reportDeviceError(_ code: Int64, in tree: LwM2MObjectTree) throws(LwM2MClientError) {
        var codes: [Int64] = []
        if case .resource(let r) = try tree.read(.resource(3, 0, 11), checkReadable: false), let instances = r.instances {
            codes = instances.map { if case .integer(let v) = $0.value { return v } else { return 0 } }.filter { $0 != 0 }
        }
        if !codes.contains(code) { codes.append(code) }
        try tree.setInstances(.resource(3, 0, 11), Dictionary(uniqueKeysWithValues: codes.enumerated().map {
            (UInt16($0.offset), LwM2MValue.integer($0.element))
        }))
    }
}

/// A mutable offset shared between the current-time read and write handlers.
private final class TimeOffset: Sendable {
    private let value = Mutex<Int64>(0)
    var seconds: Int64 {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

import Synchronization

/// A simulated temperature sensor as IPSO Temperature (3303): Sensor Value (5700), Min/Max Measured
/// (5601/5602) with Reset (5605), range (5603/5604) and units (5701); each reading updates them in one batch.
public final class LwM2MTemperatureSensor: Sendable {
    /// The tree holding the object.
    public let tree: LwM2MObjectTree
    /// The instance ID.
    public let instanceID: UInt16

    /// Adds instance `instanceID` of object 3303 reading `initial` °C.
    public init(tree: LwM2MObjectTree, instanceID: UInt16 = 0, initial: Double = 21.0) throws(LwM2MClientError) {
        self.tree = tree
        self.instanceID = instanceID
        if tree.definition(of: 3303) == nil { try tree.addObject(3303) }
        try tree.createInstance(3303, id: instanceID, values: [
            5700: .float(initial), 5601: .float(initial), 5602: .float(initial), 5603: .float(-40), 5604: .float(85),
            5701: .string("Cel"),
        ])
        tree.onExecute(3303, instanceID, 5605) { [weak tree] _, _ in
            guard let tree, let v = tree.value(at: .resource(3303, instanceID, 5700)) else { return }
            try tree.batch {
                try tree.set(.resource(3303, instanceID, 5601), v)
                try tree.set(.resource(3303, instanceID, 5602), v)
            }
        }
    }

    /// The current reading.
    public var celsius: Double {
        if case .float(let v) = tree.value(at: .resource(3303, instanceID, 5700)) { return v }
        return .nan
    }

    /// Records a new reading, updating the minimum and maximum measured values in the same batch.
    public func record(_ celsius: Double) throws(LwM2MClientError) {
        func number(_ r: UInt16) -> Double? {
            if case .float(let v) = tree.value(at: .resource(3303, instanceID, r)) { return v }
            return nil
        }
        let minimum = min(number(5601) ?? celsius, celsius)
        let maximum = max(number(5602) ?? celsius, celsius)
        do {
            try tree.batch {
                try tree.set(.resource(3303, instanceID, 5700), .float(celsius))
                try tree.set(.resource(3303, instanceID, 5601), .float(minimum))
                try tree.set(.resource(3303, instanceID, 5602), .float(maximum))
            }
        } catch let error as LwM2MClientError {
            throw error
        } catch {
            throw LwM2MClientError(code: .internalError, reason: "\(error)")
        }
    }
}
