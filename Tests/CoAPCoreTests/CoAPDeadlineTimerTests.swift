import CoAPCore
import NIOCore
import Testing

@Suite("CoAPDeadlineTimer")
struct CoAPDeadlineTimerTests {
    /// A timer owner that records its claimed wake-ups.
    actor Owner {
        var timer = CoAPDeadlineTimer()
        var claimed: [NIODeadline] = []
        var unclaimed: [NIODeadline] = []
        let fired: AsyncStream<NIODeadline>.Continuation

        init(fired: AsyncStream<NIODeadline>.Continuation) { self.fired = fired }

        func schedule(noLaterThan next: NIODeadline, clock: CoAPVirtualClock) {
            timer.schedule(noLaterThan: next, on: clock) { [weak self] deadline in await self?.wake(deadline) }
        }

        func schedule(_ next: NIODeadline?, clock: CoAPVirtualClock) {
            timer.schedule(next, on: clock) { [weak self] deadline in await self?.wake(deadline) }
        }

        func cancel() { timer.cancel() }

        func wake(_ deadline: NIODeadline) {
            if timer.claim(deadline) { claimed.append(deadline) } else { unclaimed.append(deadline) }
            fired.yield(deadline)
        }
    }

    @Test("noLaterThan keeps an earlier wake-up and replaces a later one; only the current one is claimed")
    func noLaterThan() async throws {
        let clock = CoAPVirtualClock()
        let (stream, continuation) = AsyncStream<NIODeadline>.makeStream()
        var fired = stream.makeAsyncIterator()
        let owner = Owner(fired: continuation)
        let start = clock.now
        await owner.schedule(noLaterThan: start + .seconds(10), clock: clock)
        await owner.schedule(noLaterThan: start + .seconds(20), clock: clock)  // later: the 10 s wake-up stays
        await owner.schedule(noLaterThan: start + .seconds(5), clock: clock)  // earlier: replaces it
        clock.advance(by: .seconds(5))
        #expect(await fired.next() == start + .seconds(5))
        #expect(await owner.claimed == [start + .seconds(5)])
        // Disarmed after the claim: nothing else is pending on the clock.
        clock.advance(by: .seconds(30))
        #expect(clock.pendingCount == 0)
        #expect(await owner.unclaimed.isEmpty)
    }

    @Test("schedule re-arms for a later deadline, nil and cancel disarm")
    func exact() async throws {
        let clock = CoAPVirtualClock()
        let (stream, continuation) = AsyncStream<NIODeadline>.makeStream()
        var fired = stream.makeAsyncIterator()
        let owner = Owner(fired: continuation)
        let start = clock.now
        await owner.schedule(start + .seconds(5), clock: clock)
        await owner.schedule(start + .seconds(8), clock: clock)  // later, and still replaces the 5 s wake-up
        clock.advance(by: .seconds(8))
        #expect(await fired.next() == start + .seconds(8))
        #expect(await owner.claimed == [start + .seconds(8)])
        await owner.schedule(clock.now + .seconds(1), clock: clock)
        await owner.schedule(nil, clock: clock)
        await owner.schedule(clock.now + .seconds(2), clock: clock)
        await owner.cancel()
        clock.advance(by: .seconds(10))
        await owner.schedule(clock.now + .seconds(1), clock: clock)
        clock.advance(by: .seconds(1))
        let last = await fired.next()
        #expect(last == clock.now)
        #expect(await owner.claimed == [start + .seconds(8), clock.now])
        #expect(await owner.unclaimed.isEmpty)
    }
}
