import Foundation

/// Messages from threads, collected.
final class Failures: @unchecked Sendable {
    // Safe to share: every access holds `lock`.
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}

/// A count from threads.
final class Counter: @unchecked Sendable {
    // Safe to share: every access holds `lock`.
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// A gate threads wait at until it is opened (and stays open).
final class Gate: @unchecked Sendable {
    // Safe to share: every access holds `condition`.
    private let condition = NSCondition()
    private var isOpen = false

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }

    /// Waits until the gate opens or `deadline` passes; whether it opened.
    func wait(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !isOpen {
            if !condition.wait(until: deadline) { return isOpen }
        }
        return true
    }
}

/// A thread of its own for a body that blocks (GCD's pool may be as small as the cores).
final class TestThread: Sendable {
    private let finished = Gate()

    init(_ body: @escaping @Sendable () -> Void) {
        let finished = finished
        let thread = Thread {
            body()
            finished.open()
        }
        thread.start()
    }

    func join() { finished.wait() }

    /// Whether the thread finished within `seconds`: a guard against a deadlock.
    func join(within seconds: Double) -> Bool { finished.wait(until: Date(timeIntervalSinceNow: seconds)) }
}
