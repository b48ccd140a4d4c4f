import LwM2MModel
import Testing

@Suite("LwM2M paths")
struct LwM2MPathBasicsTests {
    @Test func levelsAndPrinting() {
        #expect(LwM2MPath.root.description == "/")
        #expect(LwM2MPath.resource(3, 0, 9).description == "/3/0/9")
        #expect(LwM2MPath.resourceInstance(3, 0, 11, 0).level == .resourceInstance)
        #expect(LwM2MPath(objectID: nil, instanceID: 1) == nil)
        #expect(LwM2MPath(objectID: 65535) == nil)
    }

    @Test func prefixAndOrder() {
        #expect(LwM2MPath.instance(3, 0).isPrefix(of: .resource(3, 0, 9)))
        #expect(!LwM2MPath.instance(3, 1).isPrefix(of: .resource(3, 0, 9)))
        #expect(LwM2MPath.root.isAncestor(of: .object(1)))
        let sorted = [LwM2MPath.instance(3, 1), .resource(3, 0, 0), .object(3), .instance(3, 0)].sorted()
        #expect(sorted == [.object(3), .instance(3, 0), .resource(3, 0, 0), .instance(3, 1)])
    }
}
