import LwM2MModel

extension LwM2MStandardObjects {
    /// A position fix for Location (6).
    public struct Location: Sendable, Hashable {
        /// Latitude in degrees (/6/0/0).
        public var latitude: Double
        /// Longitude in degrees (/6/0/1).
        public var longitude: Double
        /// Altitude in metres (/6/0/2).
        public var altitude: Double?
        /// Radius of the uncertainty circle in metres (/6/0/3).
        public var radius: Double?
        /// Velocity as 3GPP TS 23.032 GAD bytes (/6/0/4).
        public var velocity: [UInt8]?
        /// Speed in metres per second (/6/0/6).
        public var speed: Double?
        /// When the fix was taken, seconds since 1970 (/6/0/5).
        public var timestamp: Int64

        /// Creates a fix; `timestamp` defaults to now.
        public init(
            latitude: Double, longitude: Double, altitude: Double? = nil, radius: Double? = nil,
            velocity: [UInt8]? = nil, speed: Double? = nil, timestamp: Int64 = LwM2MStandardObjects.unixTime()
        ) {
            self.latitude = latitude
            self.longitude = longitude
            self.altitude = altitude
            self.radius = radius
            self.velocity = velocity
            self.speed = speed
            self.timestamp = timestamp
        }
    }

    /// Adds Location (6) instance 0 at `location`.
    public static func installLocation(in tree: LwM2MObjectTree, location: Location) throws(LwM2MClientError) {
        if tree.definition(of: 6) == nil { try tree.addObject(6) }
        try tree.createInstance(6, id: 0)
        try updateLocation(location, in: tree)
    }

    /// Publishes a new fix in one batch (observers get one round of notifications). `nil` optional fields
    /// leave the previous value.
    public static func updateLocation(_ location: Location, in tree: LwM2MObjectTree) throws(LwM2MClientError) {
        do {
            try tree.batch {
                try tree.set(.resource(6, 0, 0), .float(location.latitude))
                try tree.set(.resource(6, 0, 1), .float(location.longitude))
                if let v = location.altitude { try tree.set(.resource(6, 0, 2), .float(v)) }
                if let v = location.radius { try tree.set(.resource(6, 0, 3), .float(v)) }
                if let v = location.velocity { try tree.set(.resource(6, 0, 4), .opaque(v)) }
                try tree.set(.resource(6, 0, 5), .time(location.timestamp))
                if let v = location.speed, tree.definition(of: 6)?.resource(6) != nil {
                    try tree.set(.resource(6, 0, 6), .float(v))
                }
            }
        } catch let error as LwM2MClientError {
            throw error
        } catch {
            throw LwM2MClientError(code: .internalError, reason: "\(error)")
        }
    }
}
