/// One line of the management console: `<endpoint> <Method> [<json params>]`, or `clients`.
public enum LwM2MConsoleInput: Hashable, Sendable {
    /// A blank line or a `#` comment.
    case empty
    /// List the registered clients.
    case clients
    /// Run `method` with `params` on `endpoint`.
    case command(endpoint: String, method: String, params: String?)
    /// A line that is none of these, with why.
    case invalid(String)

    /// Parses a console line.
    public init(line: some StringProtocol) {
        let trimmed = line.drop { $0.isWhitespace }
        if trimmed.isEmpty || trimmed.hasPrefix("#") {
            self = .empty
            return
        }
        let words = trimmed.split(maxSplits: 2, omittingEmptySubsequences: true) { $0 == " " || $0 == "\t" }
        if words.count == 1 && words[0].lowercased() == "clients" {
            self = .clients
            return
        }
        guard words.count >= 2 else {
            self = .invalid("expected `<endpoint> <Method> [<json>]` or `clients`")
            return
        }
        self = .command(
            endpoint: String(words[0]), method: String(words[1]), params: words.count > 2 ? String(words[2]) : nil)
    }
}
