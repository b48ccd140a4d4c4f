/// A small seedable generator (SplitMix64) for message IDs, tokens, retransmission jitter and simulations.
///
/// Not cryptographic: CoAP tokens over plain UDP only need to be hard to guess off-path (RFC 7252 5.3.1);
/// the default seed comes from the system generator.
package struct CoAPRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from `seed`.
    package init(seed: UInt64) { self.state = seed }

    /// Creates a generator seeded from the system's secure generator.
    package init() {
        var system = SystemRandomNumberGenerator()
        self.state = system.next()
    }

    /// The next 64 random bits.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
