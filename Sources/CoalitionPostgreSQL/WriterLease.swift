import CoalitionKit
import Foundation

/// The lease that makes one `coalition serve` the writer of a ledger on PostgreSQL, when
/// two or more run on one database: the row of `writer_lease`, with a fencing epoch.
///
/// - `acquire` takes the lease only once it has expired (or was released): `epoch + 1`,
///   this process as holder, `expires_at` `duration` ahead of the database server's clock,
///   so the machines' own clocks never matter.
/// - `renew` moves `expires_at` on while the epoch is still this process's; once another
///   server has taken the lease it reports the loss and the holder steps down.
/// - Every batch transaction checks the epoch itself (`PostgreSQLStore.fence(epoch:)`): its
///   commit first updates this row `WHERE epoch = mine`, under the row's lock, so a writer
///   that lost the lease (paused past it, then resumed) cannot commit, whatever its renewal
///   thread believes. The row lock makes that check and the commit one step with respect to
///   a takeover: a takeover waits for the commit, and then finds the lease renewed.
///
/// The lease keeps a connection of its own, so renewing never waits behind a batch on the
/// store's connection. Not thread-safe: one thread (the server's lease keeper) uses it.
package final class WriterLease {
    private let connection: Connection
    /// Who holds the lease, as the row names it: host and process id.
    package let holder: String
    /// How long a renewal holds the lease: a writer that has not renewed for this long (dead,
    /// paused, cut off from the database) loses it to the first standby that asks.
    package static let duration = 3
    /// The epoch this process holds, if it holds the lease.
    package private(set) var epoch: Int64?

    /// Connects to the ledger's database with `conninfo` (and libpq's `overrides`), as the
    /// store does.
    package init(conninfo: String, holder: String, overrides: [(String, String)] = []) throws {
        connection = try Connection(conninfo: conninfo, overrides: overrides)
        self.holder = holder
        try connection.execute("SET client_min_messages = warning")
    }

    /// The server the lease lives on, without its password.
    package var target: String { connection.target }

    /// Takes the lease if no one holds it (it expired, or was released); returns the new
    /// epoch, or nil while another server holds it.
    package func acquire() throws -> Int64? {
        let rows = try connection.query(
            """
            UPDATE writer_lease SET epoch = epoch + 1, holder = $1,
                expires_at = clock_timestamp() + make_interval(secs => $2)
            WHERE id = 1 AND expires_at <= clock_timestamp() RETURNING epoch
            """,
            [holder, String(WriterLease.duration)]
        )
        epoch = rows.count > 0 ? rows.int64(0, 0) : nil
        return epoch
    }

    /// Holds the lease `duration` longer; false once another server has taken it (then this
    /// process holds it no more). Throws when the database cannot be reached: the caller
    /// steps down once the lease must have run out.
    package func renew() throws -> Bool {
        guard let epoch else { return false }
        let rows = try connection.query(
            """
            UPDATE writer_lease SET expires_at = clock_timestamp() + make_interval(secs => $2)
            WHERE id = 1 AND epoch = $1 RETURNING epoch
            """,
            [String(epoch), String(WriterLease.duration)]
        )
        if rows.count == 0 { self.epoch = nil }
        return rows.count > 0
    }

    /// Gives the lease up at once (a clean stop), so a standby need not wait for it to run
    /// out. Does nothing if another server holds it by now.
    package func release() throws {
        guard let epoch else { return }
        self.epoch = nil
        _ = try connection.query(
            "UPDATE writer_lease SET expires_at = '-infinity' WHERE id = 1 AND epoch = $1",
            [String(epoch)]
        )
    }

    /// Forgets the lease without telling the database (it could not be reached): the epoch
    /// is no longer used, and the lease runs out on its own.
    package func abandon() {
        epoch = nil
    }

    /// Who holds the lease now and whether it is live: for the standby's messages.
    package func currentHolder() throws -> (holder: String, epoch: Int64, isLive: Bool) {
        let rows = try connection.query(
            "SELECT holder, epoch, expires_at > clock_timestamp() FROM writer_lease WHERE id = 1"
        )
        guard rows.count > 0 else {
            throw CoalitionError(.storeFailure, "the ledger has no writer_lease row", at: Place(file: target))
        }
        return (rows.string(0, 0), rows.int64(0, 1), rows.string(0, 2) == "t")
    }

    // MARK: The checks of a batch transaction

    /// The check at the start of a batch of a process that holds no lease (a CLI command):
    /// refused with `LEDGER_BUSY` while a server holds a live lease. The row is locked for
    /// the batch (`FOR SHARE`), so a server cannot take the lease, and load the ledger,
    /// before this batch has committed.
    static func checkNoWriter(_ connection: Connection) throws {
        let rows = try connection.query(
            "SELECT holder, expires_at > clock_timestamp() FROM writer_lease WHERE id = 1 FOR SHARE"
        )
        guard rows.count > 0, rows.string(0, 1) == "t" else { return }
        throw CoalitionError(
            .ledgerBusy,
            "coalition serve (\(rows.string(0, 0))) is the writer of this ledger: write through it, "
                + "or stop it first; nothing was written",
            at: Place(file: connection.target)
        )
    }

    /// The check at the start of a batch of the lease's holder: refused with
    /// `WRITER_FENCED`, before any work, once another server holds a newer epoch.
    static func checkEpoch(_ epoch: Int64, _ connection: Connection) throws {
        let current = try connection.integer("SELECT epoch FROM writer_lease WHERE id = 1")
        if current != epoch { throw fenced(epoch, current: current, connection) }
    }

    /// The last statement before a batch's commit: renews the lease under its row lock if
    /// the epoch is still `epoch`, and refuses the commit (`WRITER_FENCED`) otherwise.
    static func renewForCommit(_ epoch: Int64, _ connection: Connection) throws {
        let rows = try connection.query(
            """
            UPDATE writer_lease SET expires_at = greatest(expires_at, clock_timestamp() + make_interval(secs => $2))
            WHERE id = 1 AND epoch = $1 RETURNING epoch
            """,
            [String(epoch), String(duration)]
        )
        if rows.count == 0 {
            throw fenced(
                epoch,
                current: try connection.integer("SELECT epoch FROM writer_lease WHERE id = 1"),
                connection
            )
        }
    }

    private static func fenced(_ epoch: Int64, current: Int64?, _ connection: Connection) -> CoalitionError {
        CoalitionError(
            .writerFenced,
            "this server's writer lease (epoch \(epoch)) was taken over (epoch \(current.map(String.init) ?? "none")) "
                + "by another server; nothing was written",
            at: Place(file: connection.target)
        )
    }
}
