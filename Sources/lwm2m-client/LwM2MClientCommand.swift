import ArgumentParser

/// The `lwm2m-client` command (assembled once the codecs land).
@main
struct LwM2MClientCommand: AsyncParsableCommand {
    func run() async throws {}
}
