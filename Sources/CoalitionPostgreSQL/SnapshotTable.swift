import CoalitionKit
import CoalitionSQLite
import Foundation

/// The engine's state saved in the database, for a quick next open: one row of
/// `state_snapshot` holding the bytes of the SQLite store's state file (`StateFile`: its
/// format, checksum and mark) and the journal head it was taken at.
///
/// Kept in the database, not beside it, so that a replica, a `pg_dump` and a restored base
/// backup carry it with the ledger, and every server that opens the ledger finds it. It is
/// a cache, never the truth: `load` uses it only when its mark is the tables' head and its
/// checksum holds, and otherwise reads the tables. Writing it is one statement outside any
/// batch, so it never slows a batch down.
enum SnapshotTable {
    /// Saves `state` if the tables stand at its mark and the row does not hold it already.
    static func save(_ state: LedgerSnapshot, _ connection: Connection) throws {
        let mark = StateMark(state)
        guard try StateLoader(connection: connection).currentMark() == mark else { return }
        let saved = try connection.query(
            "SELECT last_batch, last_seq, last_lot, last_obligation, last_hash FROM state_snapshot WHERE id = 1"
        )
        if saved.count > 0,
            StateMark(
                lastBatch: saved.int64(0, 0),
                lastSeq: saved.int64(0, 1),
                lastHash: saved.bytes(0, 4),
                lastLotID: saved.int64(0, 2),
                lastObligationID: saved.int64(0, 3)
            ) == mark
        {
            return
        }
        let bytes = try withTemporaryFile { path in
            try StateFile.write(state, mark: mark, to: path)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CoalitionError(.io, "cannot read the saved state back", at: Place(file: path))
            }
            return data
        }
        _ = try connection.query(
            """
            INSERT INTO state_snapshot (id, last_batch, last_seq, last_hash, last_lot, last_obligation, state)
            VALUES (1, $1, $2, $3::bytea, $4, $5, $6::bytea)
            ON CONFLICT (id) DO UPDATE SET last_batch = excluded.last_batch, last_seq = excluded.last_seq,
                last_hash = excluded.last_hash, last_lot = excluded.last_lot,
                last_obligation = excluded.last_obligation, state = excluded.state
            """,
            [
                String(mark.lastBatch), String(mark.lastSeq), hex(mark.lastHash), String(mark.lastLotID),
                String(mark.lastObligationID), hex(bytes),
            ]
        )
    }

    /// The saved state if it was taken at `mark` and is whole; nil otherwise.
    static func read(_ connection: Connection, expecting mark: StateMark) throws -> LedgerSnapshot? {
        let row = try connection.query(
            "SELECT state FROM state_snapshot WHERE id = 1 AND last_batch = $1 AND last_seq = $2",
            [String(mark.lastBatch), String(mark.lastSeq)]
        )
        guard row.count > 0 else { return nil }
        let bytes = Data(row.bytes(0, 0))
        return try withTemporaryFile { path in
            guard FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600])
            else { return nil }
            return StateFile.read(path: path, expecting: mark, limit: Int64(bytes.count))
        }
    }

    /// `bytes` as a `bytea` literal in hex form.
    private static func hex<C: Collection<UInt8>>(_ bytes: C) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        out.reserveCapacity(2 + bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Runs `body` with the path of a new owner-only temporary file, removed afterwards.
    private static func withTemporaryFile<T>(_ body: (String) throws -> T) throws -> T {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent(
            "coalition-snapshot-\(getpid())-\(UUID().uuidString)"
        )
        defer { unlink(path) }
        return try body(path)
    }
}
