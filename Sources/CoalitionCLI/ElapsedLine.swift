import Foundation

/// A progress line for work that cannot count its steps (opening a ledger, closing a cycle,
/// expiring lots): `label… 2.5 s` on standard error, from the moment the work has taken half
/// a second, redrawn four times a second by a thread of its own, and cleared when the work
/// ends. Silent when standard error is not a terminal, like `ProgressLine`.
final class ElapsedLine: @unchecked Sendable {
    // Safe: `isRunning` and `isShown` are read and written only under `lock`, and every
    // write to the terminal happens under it too.
    private let lock = NSLock()
    private var isRunning = true
    private var isShown = false

    init(_ label: String) {
        guard isatty(2) != 0 else {
            isRunning = false
            return
        }
        let delay = ProcessInfo.processInfo.environment["COALITION_PROGRESS_AFTER"].flatMap(Double.init) ?? 0.5
        let started = Date()
        Thread.detachNewThread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.25)
                lock.lock()
                defer { lock.unlock() }
                guard isRunning else { return }
                let seconds = Date().timeIntervalSince(started)
                guard seconds >= delay else { continue }
                isShown = true
                FileHandle.standardError.write(
                    Data("\r\u{1B}[K\(label)\u{2026} \(String(format: "%.1f", seconds)) s".utf8)
                )
            }
        }
    }

    /// Stops the line and clears it, if it was drawn.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        isRunning = false
        if isShown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        isShown = false
    }

    /// Runs `body` with an elapsed line labelled `label`.
    static func around<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        let line = ElapsedLine(label)
        defer { line.finish() }
        return try body()
    }
}
