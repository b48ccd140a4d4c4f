import LwM2MModel

/// Small definitions of the objects the tests use (the subset of the OMA files the client touches).
enum TestDefinitions {
    static func r(
        _ id: UInt16, _ name: String, _ ops: LwM2MOperations, _ type: LwM2MResourceType, multiple: Bool = false
    ) -> LwM2MResourceDefinition {
        LwM2MResourceDefinition(id: id, name: name, operations: ops, isMultiple: multiple, isMandatory: false, type: type)
    }

    static let security = LwM2MObjectDefinition(id: 0, name: "LWM2M Security", isMultiple: true, isMandatory: true, resources: [
        r(0, "LWM2M Server URI", [], .string), r(1, "Bootstrap-Server", [], .boolean), r(2, "Security Mode", [], .integer),
        r(3, "Public Key or Identity", [], .opaque), r(4, "Server Public Key", [], .opaque), r(5, "Secret Key", [], .opaque),
        r(10, "Short Server ID", [], .integer),
    ])

    static let server = LwM2MObjectDefinition(id: 1, name: "LwM2M Server", objectVersion: "1.1", lwm2mVersion: "1.1",
        isMultiple: true, isMandatory: true, resources: [
        r(0, "Short Server ID", .read, .integer), r(1, "Lifetime", .readWrite, .integer),
        r(2, "Default Minimum Period", .readWrite, .integer), r(3, "Default Maximum Period", .readWrite, .integer),
        r(4, "Disable", .execute, .none), r(5, "Disable Timeout", .readWrite, .integer),
        r(6, "Notification Storing", .readWrite, .boolean), r(7, "Binding", .readWrite, .string),
        r(8, "Registration Update Trigger", .execute, .none),
    ])

    static let device = LwM2MObjectDefinition(id: 3, name: "Device", objectVersion: "1.1", lwm2mVersion: "1.1",
        isMultiple: false, isMandatory: true, resources: [
        r(0, "Manufacturer", .read, .string), r(1, "Model Number", .read, .string), r(2, "Serial Number", .read, .string),
        r(3, "Firmware Version", .read, .string), r(4, "Reboot", .execute, .none), r(5, "Factory Reset", .execute, .none),
        r(6, "Available Power Sources", .read, .integer, multiple: true), r(9, "Battery Level", .read, .integer),
        r(10, "Memory Free", .read, .integer), r(11, "Error Code", .read, .integer, multiple: true),
        r(12, "Reset Error Code", .execute, .none), r(13, "Current Time", .readWrite, .time),
        r(14, "UTC Offset", .readWrite, .string), r(15, "Timezone", .readWrite, .string),
        r(16, "Supported Binding and Modes", .read, .string), r(21, "Memory Total", .read, .integer),
    ])

    static let temperature = LwM2MObjectDefinition(id: 3303, name: "Temperature", objectVersion: "1.0",
        isMultiple: true, isMandatory: false, resources: [
        r(5601, "Min Measured Value", .read, .float), r(5602, "Max Measured Value", .read, .float),
        r(5603, "Min Range Value", .read, .float), r(5604, "Max Range Value", .read, .float),
        r(5605, "Reset Min and Max Measured Values", .execute, .none), r(5700, "Sensor Value", .read, .float),
        r(5701, "Sensor Units", .read, .string),
    ])

    static let registry = LwM2MRegistry([security, server, device, temperature])
}
