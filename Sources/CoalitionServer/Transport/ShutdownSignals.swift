import Dispatch
import Glibc

/// SIGTERM and SIGINT turned into a graceful shutdown: the signals' default action (ending
/// the process at once) is replaced by a call to `shutdown()` on a dispatch queue.
/// The sources are set up once in `init` and only cancelled in `deinit`: never shared
/// mutably (hence unchecked).
package final class ShutdownSignals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    /// Installs the handlers; keep the value for as long as they should stay.
    package init(_ shutdown: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "coalition.signals")
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler(handler: shutdown)
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
