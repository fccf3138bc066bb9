import CoalitionKit
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Named points on the writing paths where a test or the crash harness makes the process
/// die or fail on purpose: `COALITION_FAILPOINT=NAME[:ACTION][@N]`.
///
/// ACTION is `crash` (the default: SIGKILL, as a power cut or `kill -9` would end it) or
/// `fail` (throw `IO_ERROR`, as a full disk or a failed fsync would); `@N` acts at the Nth
/// time the point is reached (default the first). The variable is read once per process;
/// unset, a point costs one load and one comparison, and points sit only between steps
/// (before or after a commit, a rename, a copy), never in a per-record loop.
/// `docs/reliability.md` lists the points.
package enum Failpoint {
    package enum Action: String, Sendable {
        case crash, fail
    }

    struct Armed: Sendable {
        let name: String
        let action: Action
        let at: Int
    }

    static let armed: Armed? = {
        guard let raw = getenv("COALITION_FAILPOINT") else { return nil }
        return parse(String(cString: raw))
    }()

    private static let hits = Mutex(0)

    static func parse(_ text: String) -> Armed? {
        var rest = Substring(text)
        var at = 1
        if let sign = rest.lastIndex(of: "@") {
            guard let n = Int(rest[rest.index(after: sign)...]), n >= 1 else { return nil }
            at = n
            rest = rest[..<sign]
        }
        var action = Action.crash
        if let colon = rest.lastIndex(of: ":") {
            guard let parsed = Action(rawValue: String(rest[rest.index(after: colon)...])) else { return nil }
            action = parsed
            rest = rest[..<colon]
        }
        guard !rest.isEmpty else { return nil }
        return Armed(name: String(rest), action: action, at: at)
    }

    /// Reaches the point `name`: dies or throws if it is the armed one, else returns.
    package static func reach(_ name: String) throws {
        guard let armed, armed.name == name else { return }
        let count = hits.withLock { value in
            value += 1
            return value
        }
        guard count == armed.at else { return }
        switch armed.action {
        case .crash:
            kill(getpid(), SIGKILL)
            // SIGKILL cannot be caught; this line is never reached.
            abort()
        case .fail:
            throw CoalitionError(.io, "injected failure at \(name) (COALITION_FAILPOINT)")
        }
    }
}
