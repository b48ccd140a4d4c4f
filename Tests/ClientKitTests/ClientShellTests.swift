import ClientKit
import CoAPCore
import LwM2MModel
import Synchronization
import Testing

/// Drives `LwM2MClientShell` with text lines and checks what it prints.
final class ShellTranscript: Sendable {
    final class Sink: Sendable { let lines = Mutex<[String]>([]) }
    private let sink = Sink()
    let shell: LwM2MClientShell

    init(_ fixture: ClientFixture) {
        let sink = self.sink
        shell = LwM2MClientShell(client: fixture.client, sensor: fixture.sensor, output: { line in
            sink.lines.withLock { $0.append(line) }
        })
    }

    /// Runs `line` and returns the lines it printed.
    func run(_ line: String) async -> [String] {
        let before = sink.lines.withLock { $0.count }
        _ = await shell.run(line)
        return sink.lines.withLock { Array($0[before...]) }
    }

    /// Runs `line` and returns its single output line.
    func one(_ line: String) async -> String {
        let out = await run(line)
        #expect(out.count == 1, "\(line) printed \(out)")
        return out.first ?? ""
    }
}

@Suite("LwM2MClientShell: Zephyr's lwm2m shell commands")
struct ClientShellTests {
    @Test("read -x/-s/-b/-uX/-sX/-f/-t and write with the same options, range-checked")
    func readWriteOptions() async throws {
        let f = try await ClientFixture()
        let sh = ShellTranscript(f)
        #expect(await sh.one("write /3/0/9 -u8 87") == "OK")
        #expect(f.tree.value(at: .resource(3, 0, 9)) == .integer(87))
        #expect(await sh.one("read /3/0/9") == "/3/0/9 = 87")
        #expect(await sh.one("read /3/0/9 -x") == "/3/0/9 = 0000000000000057")
        #expect(await sh.one("read /3/0/9 -u8") == "/3/0/9 = 87")
        #expect(await sh.one("read /3/0/9 -s16") == "/3/0/9 = 87")
        #expect(await sh.one("read /3/0/9 -f") == "/3/0/9 = 87.0")
        #expect(await sh.one("read /3/0/9 -t") == "/3/0/9 = 87")
        #expect(await sh.one("read /3/0/9 -b").hasPrefix("ERROR"))
        #expect(await sh.one("read /3/0/9 -q").hasPrefix("ERROR"))

        // Range checks on write: the value stays as it was.
        #expect(await sh.one("write /3/0/9 -u8 256").hasPrefix("ERROR"))
        #expect(await sh.one("write /3/0/9 -s8 -129").hasPrefix("ERROR"))
        #expect(await sh.one("write /3/0/9 -u16 x").hasPrefix("ERROR"))
        #expect(f.tree.value(at: .resource(3, 0, 9)) == .integer(87))
        #expect(await sh.one("write /3/0/9 -s8 -128") == "OK")
        #expect(await sh.one("read /3/0/9 -s8") == "/3/0/9 = -128")
        #expect(await sh.one("read /3/0/9 -u64").hasPrefix("ERROR"))
        #expect(await sh.one("read /3/0/9 -x") == "/3/0/9 = ffffffffffffff80")
        #expect(await sh.one("write /3/0/9 300") == "OK")
        #expect(await sh.one("read /3/0/9 -u8").hasPrefix("ERROR"))
        #expect(await sh.one("read /3/0/9 -u16") == "/3/0/9 = 300")

        // Strings keep their spaces; a negative number is a value, not an option.
        #expect(await sh.one("write /3/0/0 -s Acme  Corp") == "OK")
        #expect(await sh.one("read /3/0/0 -s") == "/3/0/0 = Acme Corp")
        #expect(await sh.one("read /3/0/0 -x") == "/3/0/0 = 41636d6520436f7270")
        #expect(await sh.one("write /1/0/1 -5") == "OK")
        #expect(f.tree.value(at: .resource(1, 0, 1)) == .integer(-5))

        #expect(await sh.one("write /1/0/6 -b true") == "OK")
        #expect(await sh.one("read /1/0/6 -b") == "/1/0/6 = 1")
        #expect(await sh.one("read /1/0/6 -x") == "/1/0/6 = 01")
        #expect(await sh.one("write /1/0/6 -b 0") == "OK")
        #expect(await sh.one("read /1/0/6") == "/1/0/6 = 0")
        #expect(await sh.one("write /1/0/6 -b 2").hasPrefix("ERROR"))

        #expect(await sh.one("write /3303/0/5700 -f 21.25") == "OK")
        #expect(await sh.one("read /3303/0/5700 -f") == "/3303/0/5700 = 21.25")
        #expect(await sh.one("read /3303/0/5700 -s32").hasPrefix("ERROR"))
        // A time written into an integer resource is stored with the resource's type.
        #expect(await sh.one("write /3/0/9 -t 1700000000") == "OK")
        #expect(f.tree.value(at: .resource(3, 0, 9)) == .integer(1_700_000_000))
        #expect(await sh.one("read /3/0/9 -t") == "/3/0/9 = 1700000000")
        #expect(await sh.one("read /3/0/9 -x") == "/3/0/9 = 000000006553f100")
        #expect(await sh.one("read /3/0/13 -t").hasPrefix("/3/0/13 = 1"))
        #expect(await sh.one("write /3/0/13 -t soon").hasPrefix("ERROR"))
    }

    @Test("create and delete of object instances and resource instances; ls shows them")
    func createDeleteResourceInstances() async throws {
        let f = try await ClientFixture()
        let sh = ShellTranscript(f)
        #expect(await sh.one("create /3/0/6/4") == "OK")
        #expect(f.tree.value(at: .resourceInstance(3, 0, 6, 4)) == .integer(0))
        #expect(await sh.one("write /3/0/6/4 -s32 5") == "OK")
        #expect(await sh.one("read /3/0/6/4") == "/3/0/6/4 = 5")
        #expect(await sh.run("ls /3/0/6").contains("/3/0/6/4"))
        #expect(await sh.one("create /3/0/6/4").hasPrefix("ERROR"))   // exists
        #expect(await sh.one("create /3/0/9/0").hasPrefix("ERROR"))   // single-instance resource
        #expect(await sh.one("create /3/7/6/0").hasPrefix("ERROR"))   // no such object instance
        let others = f.tree.instanceIDs(of: 3).count
        #expect(await sh.one("delete /3/0/6/4") == "OK")
        #expect(!f.tree.contains(.resourceInstance(3, 0, 6, 4)))
        #expect(await sh.one("read /3/0/6/4").hasPrefix("ERROR"))
        #expect(await sh.one("delete /3/0/6/4").hasPrefix("ERROR"))
        #expect(f.tree.instanceIDs(of: 3).count == others)

        #expect(await sh.one("create /3303/1") == "OK")
        #expect(f.tree.instanceIDs(of: 3303) == [0, 1])
        #expect(await sh.one("delete /3303/1") == "OK")
        #expect(f.tree.instanceIDs(of: 3303) == [0])
        #expect(await sh.one("create /3303").hasPrefix("ERROR"))
    }

    @Test("lock holds notifications back; unlock delivers every change in one round")
    func lockUnlock() async throws {
        let f = try await ClientFixture()
        let sh = ShellTranscript(f)
        let rounds = Mutex<[Set<LwM2MPath>]>([])
        _ = f.tree.addChangeListener { paths in rounds.withLock { $0.append(paths) } }
        #expect(await sh.one("lock") == "OK")
        #expect(await sh.one("write /3/0/9 -u8 10") == "OK")
        #expect(await sh.one("write /3/0/13 -t 5") == "OK")
        #expect(rounds.withLock { $0.isEmpty })
        #expect(await sh.one("unlock") == "OK")
        #expect(rounds.withLock { $0 } == [[.resource(3, 0, 9), .resource(3, 0, 13)]])
        #expect(await sh.one("unlock").hasPrefix("ERROR"))
        #expect(await sh.one("write /3/0/9 -u8 11") == "OK")
        #expect(rounds.withLock { $0.count } == 2)
    }

    @Test("stop -f drops the registration without De-register; start EP_NAME checks the name and registers again")
    func forceStopAndStart() async throws {
        let f = try await ClientFixture()
        let sh = ShellTranscript(f)
        try await f.register()
        #expect(await sh.one("stop -x").hasPrefix("ERROR"))
        #expect(await sh.one("stop -f") == "OK")
        try await f.waitFor(.disconnect)
        #expect(await f.client.status == .idle)
        #expect(!f.server.messages.contains { $0.code == .delete })
        #expect(await sh.one("start other-name").hasPrefix("ERROR"))
        #expect(await sh.one("start dev1 -b").hasPrefix("ERROR"))
        #expect(await sh.one("start dev1") == "OK")
        try await f.waitFor(.registrationComplete, count: 2)
        #expect(f.server.messages.filter { $0.code == .post && $0.uriPath == ["rd"] }.count == 2)
        #expect(await sh.one("stop") == "OK")
        try await f.waitFor(.disconnect, count: 2)
        #expect(f.server.messages.contains { $0.code == .delete })
    }

    @Test("Unknown commands, comments and quit")
    func misc() async throws {
        let f = try await ClientFixture()
        let sh = ShellTranscript(f)
        #expect(await sh.one("frobnicate") == "ERROR unknown command frobnicate")
        #expect(await sh.run("# a comment").isEmpty)
        #expect(await sh.shell.run("quit") == false)
        #expect(await sh.one("temp 30.5") == "OK")
        #expect(f.tree.value(at: .resource(3303, 0, 5700)) == .float(30.5))
    }
}
