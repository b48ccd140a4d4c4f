import LwM2MModel
import Testing

@Suite("LwM2MResourceInstances")
struct LwM2MResourceInstancesTests {
    private func instance(_ id: UInt16, _ value: Int64) -> LwM2MResourceInstance {
        LwM2MResourceInstance(id: id, value: .integer(value))
    }

    /// Instances 0..<n with values that need a reference (strings, never inline), so copies and releases are
    /// exercised.
    private func strings(_ n: Int) -> [LwM2MResourceInstance] {
        (0..<n).map { LwM2MResourceInstance(id: UInt16($0), value: .string("value number \($0) of a longer text")) }
    }

    /// Instances 0..<n with small integer values (inline up to two).
    private func integers(_ n: Int) -> [LwM2MResourceInstance] {
        (0..<n).map { LwM2MResourceInstance(id: UInt16($0), value: .integer(Int64($0) * 1000 - 1)) }
    }

    @Test(arguments: 0...6, [false, true])
    func insertingInOrderKeepsEveryInstanceAcrossTheSpill(n: Int, stringValues: Bool) {
        let elements = stringValues ? strings(n) : integers(n)
        var built = LwM2MResourceInstances()
        for (k, element) in elements.enumerated() {
            built.insert(element)
            #expect(built.count == k + 1)
            #expect(Array(built) == Array(elements.prefix(k + 1)))
        }
        #expect(built.isEmpty == (n == 0))
        #expect(Array(built) == elements)
        #expect(built.indices == 0..<n)
        #expect(built == LwM2MResourceInstances(elements))
        for element in elements { #expect(built[id: element.id] == element.value) }
        #expect(built[id: UInt16(n)] == nil)
        #expect(built.withUnsafeBufferPointer { Array($0) } == elements)
    }

    /// Values at the edges of what fits inline come back exactly, inline or spilled, in either slot.
    @Test(arguments: [
        LwM2MValue.integer(Int64(Int32.max)), .integer(Int64(Int32.min)), .integer(Int64(Int32.max) + 1),
        .integer(Int64.min), .time(-1), .time(Int64(UInt32.max)), .unsignedInteger(UInt64(UInt32.max)),
        .unsignedInteger(UInt64(UInt32.max) + 1), .float(0.5), .float(-0.0), .float(0.1), .float(.infinity),
        .float(Double(Float.greatestFiniteMagnitude) * 2), .float(.nan), .boolean(true), .boolean(false),
        .objectLink(LwM2MObjectLink(objectID: 65535, instanceID: 1)), .opaque([1, 2]), .coreLink("</3/0>"),
        .string(""),
    ])
    func valuesComeBackExactly(value: LwM2MValue) {
        for neighbour in [LwM2MValue.integer(-7), .string("wide")] {
            var values = LwM2MResourceInstances()
            values.insert(LwM2MResourceInstance(id: 4, value: value))
            values.insert(LwM2MResourceInstance(id: 2, value: neighbour))  // moves the first one to slot 1
            #expect(values[id: 4].map(\.type) == value.type)
            if case .float(let d) = value {
                guard case .float(let back) = values[id: 4] else {
                    Issue.record("not a float")
                    return
                }
                #expect(back.bitPattern == d.bitPattern)
            } else {
                #expect(values[id: 4] == value)
            }
            #expect(values[id: 2] == neighbour)
            #expect(values.map(\.id) == [2, 4])
        }
    }

    @Test func resourcesStayFourWordsLong() {
        #expect(MemoryLayout<LwM2MResource>.stride == 32)
    }

    @Test func insertingOutOfOrderSortsAndReplacesTheSameID() {
        var built = LwM2MResourceInstances()
        built.insert(instance(5, 50))
        built.insert(instance(1, 10))  // before the first, still inline
        #expect(built.map(\.id) == [1, 5])
        built.insert(instance(5, 51))  // replaces, no spill
        built.insert(instance(1, 11))
        #expect(Array(built) == [instance(1, 11), instance(5, 51)])
        built.insert(instance(3, 30))  // third: spills, in order
        #expect(Array(built) == [instance(1, 11), instance(3, 30), instance(5, 51)])
        built.insert(instance(0, 0))
        built.insert(instance(3, 31))
        built.insert(instance(9, 90))
        #expect(Array(built) == [instance(0, 0), instance(1, 11), instance(3, 31), instance(5, 51), instance(9, 90)])
    }

    @Test func initializersSortAndKeepTheLastOfEachID() {
        let literal: LwM2MResourceInstances = [instance(2, 20), instance(0, 0), instance(2, 21)]
        #expect(Array(literal) == [instance(0, 0), instance(2, 21)])
        #expect(Array(LwM2MResourceInstances([instance(7, 1), instance(7, 2)])) == [instance(7, 2)])
        #expect(Array(LwM2MResourceInstances([instance(3, 3), instance(1, 1)])) == [instance(1, 1), instance(3, 3)])
        let many = LwM2MResourceInstances((0..<10).reversed().map { instance(UInt16($0), Int64($0)) })
        #expect(many.map(\.id) == Array(0..<10))
        // The resource factories keep their behaviour: sorted by ID, from an array or a dictionary.
        #expect(LwM2MResource.multiple(6, [instance(1, 5), instance(0, 1)]).instances.map(Array.init)
            == [instance(0, 1), instance(1, 5)])
        #expect(LwM2MResource.multiple(6, [1: .integer(5), 0: .integer(1)]).instances
            == [instance(0, 1), instance(1, 5)])
    }

    @Test(arguments: 0...5, [false, true])
    func equalityAndHashingIgnoreTheStorage(n: Int, stringValues: Bool) {
        let elements = stringValues ? strings(n) : integers(n)
        let inline = LwM2MResourceInstances(elements)
        // The same elements in an array from the start (reserving room for more spills at once).
        var spilled = LwM2MResourceInstances()
        spilled.reserveCapacity(8)
        for element in elements { spilled.insert(element) }
        #expect(spilled == inline)
        #expect(spilled.hashValue == inline.hashValue)
        #expect(Set([spilled, inline]).count == 1)
        #expect(LwM2MResource(id: 1, content: .multiple(spilled)) == LwM2MResource(id: 1, content: .multiple(inline)))
        #expect(inline.description == elements.description)
        // A differing element or count is seen in either storage.
        var other = spilled
        other.insert(LwM2MResourceInstance(id: 0, value: .string("changed")))
        #expect(other != inline)
        other = inline
        other.insert(instance(UInt16(n), 0))
        #expect(other != inline && other != spilled)
    }

    @Test func removeByID() {
        var values: LwM2MResourceInstances = [instance(0, 0), instance(1, 1), instance(2, 2)]
        #expect(values.remove(id: 1) == .integer(1))
        #expect(values.remove(id: 1) == nil)
        #expect(Array(values) == [instance(0, 0), instance(2, 2)])
        #expect(values.remove(id: 0) == .integer(0))
        #expect(values.remove(id: 2) == .integer(2))
        #expect(values.isEmpty && values == [])
    }

    @Test func copiesAreIndependentValues() {
        let original = LwM2MResourceInstances(strings(4))
        var copy = original
        copy.insert(LwM2MResourceInstance(id: 2, value: .boolean(true)))
        #expect(original[id: 2] == .string("value number 2 of a longer text"))
        #expect(copy[id: 2] == .boolean(true))
    }

    @Test func sendableAcrossTasks() async {
        let shared = LwM2MResourceInstances(strings(3))
        let counts = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 { group.addTask { shared.count + shared.filter { $0.id > 0 }.count } }
            return await group.reduce(0, +)
        }
        #expect(counts == 4 * 5)
    }

    @Test func resourceAccessors() {
        let resource = LwM2MResource.multiple(11, [instance(0, 0)])
        #expect(resource.isMultiple && resource.value == nil)
        #expect(resource.instances?.first == instance(0, 0))
        #expect(LwM2MResource.single(9, .integer(100)).instances == nil)
        guard case .multiple(let instances) = resource.content else {
            Issue.record("expected a multiple resource")
            return
        }
        #expect(instances.count == 1 && instances[0].id == 0)
    }
}
