import Codecs
import Testing

@Suite("Content formats")
struct ContentFormatTests {
    @Test func legacyNumbersMap() {
        #expect(LwM2MContentFormat(number: 1542) == .tlv)
        #expect(LwM2MContentFormat(number: 1543) == .lwm2mJSON)
        #expect(LwM2MContentFormat(number: 11544) == .lwm2mCBOR)
        #expect(LwM2MContentFormat(number: 7) == nil)
    }
}
