import LwM2MModel

/// The Device object instance `/3/0` every implementation is measured on (issue #4), so figures compare.
let deviceInstance = LwM2MObjectInstance(id: 0, resources: [
    .single(0, .string("Open Mobile Alliance")),
    .single(1, .string("Lightweight M2M Client")),
    .single(2, .string("345000123")),
    .single(3, .string("1.0")),
    .multiple(6, [0: .integer(1), 1: .integer(5)]),
    .multiple(7, [0: .integer(3800), 1: .integer(5000)]),
    .multiple(8, [0: .integer(125), 1: .integer(900)]),
    .single(9, .integer(100)),
    .single(10, .integer(15)),
    .multiple(11, [0: .integer(0)]),
    .single(13, .time(1_367_491_215)),
    .single(14, .string("+02:00")),
    .single(15, .string("U")),
    .single(16, .string("U")),
])

/// The definitions decoders use to type the Device instance's values.
let deviceDefinition = LwM2MObjectDefinition(
    id: 3, name: "Device", objectVersion: "1.0", isMultiple: false, isMandatory: true,
    resources: [
        .init(id: 0, name: "Manufacturer", operations: .read, isMultiple: false, isMandatory: false, type: .string),
        .init(id: 1, name: "Model Number", operations: .read, isMultiple: false, isMandatory: false, type: .string),
        .init(id: 2, name: "Serial Number", operations: .read, isMultiple: false, isMandatory: false, type: .string),
        .init(id: 3, name: "Firmware Version", operations: .read, isMultiple: false, isMandatory: false, type: .string),
        .init(id: 4, name: "Reboot", operations: .execute, isMultiple: false, isMandatory: true, type: .none),
        .init(id: 6, name: "Available Power Sources", operations: .read, isMultiple: true, isMandatory: false, type: .integer),
        .init(id: 7, name: "Power Source Voltage", operations: .read, isMultiple: true, isMandatory: false, type: .integer),
        .init(id: 8, name: "Power Source Current", operations: .read, isMultiple: true, isMandatory: false, type: .integer),
        .init(id: 9, name: "Battery Level", operations: .read, isMultiple: false, isMandatory: false, type: .integer),
        .init(id: 10, name: "Memory Free", operations: .read, isMultiple: false, isMandatory: false, type: .integer),
        .init(id: 11, name: "Error Code", operations: .read, isMultiple: true, isMandatory: true, type: .integer),
        .init(id: 13, name: "Current Time", operations: .readWrite, isMultiple: false, isMandatory: false, type: .time),
        .init(id: 14, name: "UTC Offset", operations: .readWrite, isMultiple: false, isMandatory: false, type: .string),
        .init(id: 15, name: "Timezone", operations: .readWrite, isMultiple: false, isMandatory: false, type: .string),
        .init(id: 16, name: "Supported Binding and Modes", operations: .read, isMultiple: false, isMandatory: true, type: .string),
    ])

let deviceRegistry = LwM2MRegistry([deviceDefinition])
