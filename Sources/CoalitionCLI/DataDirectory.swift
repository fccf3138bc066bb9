import CoalitionFiles
import CoalitionKit
import CoalitionPostgreSQL
import CoalitionSQLite
import Foundation

/// The data directory: the ledger, the network it was made with, keys, and the folders
/// files pass through.
///
/// ```
/// coalition-data/
///   ledger.sqlite    the clearing ledger
///   ledger.sqlite-state  its state in memory, saved when a command ends (a cache: see StateFile)
///   ledger.store     instead of ledger.sqlite: the PostgreSQL database that holds the ledger,
///                    as the connection string `init --store` was given (owner-only, 0600)
///   network/         network.json and one <partner>.json each, copied by init
///   keys/            <key id>.key, owner-only (0600) in an owner-only folder
///   writer.lock      held by the one process writing (see WriterLock)
///   inbox/ archive/ rejected/ outbox/ reports/
/// ```
struct DataDirectory {
    let root: String
    /// Where `open` registers the ledgers it opens (to save their state at the end).
    private let opened: OpenedLedgers?

    init(_ root: String, opened: OpenedLedgers? = nil) {
        self.root = root
        self.opened = opened
    }

    func path(_ parts: String...) -> String {
        parts.reduce(root) { ($0 as NSString).appendingPathComponent($1) }
    }

    var ledgerPath: String { path("ledger.sqlite") }
    /// The file naming the PostgreSQL database of a ledger made with `init --store`.
    var storeReferencePath: String { path("ledger.store") }
    var networkPath: String { path("network") }
    var keysPath: String { path("keys") }
    static let folders = ["inbox", "archive", "rejected", "outbox", "reports"]

    /// Whether `init` made a ledger here, in a file or in PostgreSQL.
    var hasLedger: Bool {
        FileManager.default.fileExists(atPath: ledgerPath) || FileManager.default.fileExists(atPath: storeReferencePath)
    }

    /// Makes a new data directory from a partners directory (`partners/`): copies the network
    /// definition, installs the keys owner-only, creates the ledger: in `ledger.sqlite`, or,
    /// given `store` (a `postgresql://` URL), in that database, which the directory then names.
    func create(from partnersDirectory: String, store: String? = nil) throws -> (Network, any LedgerStore) {
        let fileManager = FileManager.default
        if hasLedger {
            throw CoalitionError(.ledgerExists, "a ledger already exists here", at: Place(file: root))
        }
        let network = try NetworkLoader.load(directory: partnersDirectory)
        // The database first: a server that cannot be reached, or a database that is not
        // empty, leaves no directory behind.
        let postgreSQL = try store.map {
            try PostgreSQLStore(conninfo: try DataDirectory.checkedStore($0), create: true)
        }
        do {
            try fileManager.createDirectory(atPath: root, withIntermediateDirectories: true)
            try fileManager.createDirectory(atPath: networkPath, withIntermediateDirectories: true)
            try fileManager.createDirectory(
                atPath: keysPath,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            for folder in DataDirectory.folders {
                try fileManager.createDirectory(atPath: path(folder), withIntermediateDirectories: true)
            }
            for name in try fileManager.contentsOfDirectory(atPath: partnersDirectory) where name.hasSuffix(".json") {
                let copy = (networkPath as NSString).appendingPathComponent(name)
                try fileManager.copyItem(
                    atPath: (partnersDirectory as NSString).appendingPathComponent(name),
                    toPath: copy
                )
                // Configuration is never wider than 0644, whatever the source or the umask.
                try fileManager.setAttributes([.posixPermissions: 0o644], ofItemAtPath: copy)
            }
        } catch let error as CoalitionError {
            throw error
        } catch {
            throw CoalitionError(
                .io,
                "cannot lay out the data directory: \(error.localizedDescription)",
                at: Place(file: root)
            )
        }
        for partner in network.sortedPartners {
            for key in partner.keys {
                let secret = try KeyFile.read((partnersDirectory as NSString).appendingPathComponent(key.file))
                try KeyFile.write(
                    secret,
                    to: (keysPath as NSString).appendingPathComponent("\(key.id).key"),
                    comment: key.isDemo
                        ? "DEMO KEY of \(partner.id), published: guards nothing of value" : "key of \(partner.id)"
                )
            }
        }
        if let postgreSQL, let store {
            // Owner-only: the string may hold a password (better kept in ~/.pgpass).
            guard
                fileManager.createFile(
                    atPath: storeReferencePath,
                    contents: Data((store + "\n").utf8),
                    attributes: [.posixPermissions: 0o600]
                )
            else {
                throw CoalitionError(.io, "cannot write the store's name", at: Place(file: storeReferencePath))
            }
            return (network, postgreSQL)
        }
        return (network, try SQLiteStore(path: ledgerPath, create: true))
    }

    /// `store` if it is a connection URL the PostgreSQL store takes; USAGE otherwise.
    static func checkedStore(_ store: String) throws -> String {
        guard PostgreSQLStore.isConnectionString(store) else {
            throw CoalitionError(
                .usage,
                "--store takes a PostgreSQL URL (postgresql://user@host:port/database); without it the ledger is ledger.sqlite"
            )
        }
        return store
    }

    /// The store of the ledger `init` made here: the PostgreSQL database `ledger.store`
    /// names, else `ledger.sqlite`.
    func openStore() throws -> any LedgerStore {
        if let conninfo = try postgreSQLConninfo() { return try PostgreSQLStore(conninfo: conninfo) }
        return try SQLiteStore(path: ledgerPath)
    }

    /// The connection string `ledger.store` holds, or nil for a ledger in `ledger.sqlite`.
    func postgreSQLConninfo() throws -> String? {
        guard FileManager.default.fileExists(atPath: storeReferencePath) else { return nil }
        guard let bytes = FileManager.default.contents(atPath: storeReferencePath),
            let text = String(data: bytes, encoding: .utf8)
        else {
            throw CoalitionError(.io, "cannot read the store's name", at: Place(file: storeReferencePath))
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Opens an existing data directory to read, refusing one `init` did not make. Takes no
    /// lock: a command that writes uses `openForWriting`.
    func open() throws -> Ledger {
        try requireLedger()
        let ledger = try ElapsedLine.around("opening the ledger") {
            let store = try openStore()
            let network = try NetworkLoader.load(directory: networkPath)
            return try Ledger(network: network, store: store)
        }
        opened?.add(ledger)
        return ledger
    }

    /// Opens the ledger to write to it: takes the writer lock (waiting up to `waitSeconds`)
    /// before anything is read, so the state loaded is the latest; removes the temporary
    /// files crashed writers left; and checks the store's integrity, refusing to write into
    /// a damaged one. The lock is held until the command's state is saved.
    func openForWriting(waitSeconds: Int) throws -> Ledger {
        try requireLedger()
        let lock = try WriterLock.acquire(dataDirectory: root, waitSeconds: waitSeconds)
        opened?.hold(lock)
        return try openLocked()
    }

    /// Opens the ledger to write once the caller holds the writer lock: abandoned temporary
    /// files removed, the store's integrity checked before anything is written.
    func openLocked() throws -> Ledger {
        try requireLedger()
        for folder in [""] + DataDirectory.folders + ["network", "keys"] {
            TemporaryPath.removeAbandoned(in: folder.isEmpty ? root : path(folder))
        }
        let store = try openStore()
        // SQLite's pages are checked here; PostgreSQL checks its own on every read.
        try (store as? SQLiteStore)?.checkIntegrity()
        let network = try NetworkLoader.load(directory: networkPath)
        let ledger = try Ledger(network: network, store: store)
        opened?.add(ledger)
        return ledger
    }

    private func requireLedger() throws {
        guard hasLedger else {
            throw CoalitionError(
                .noLedger,
                "no Coalition ledger in this data directory: run `coalition init` (or `coalition demo`) first",
                at: Place(file: root)
            )
        }
    }

    func keyRing(for partner: Partner) throws -> KeyRing {
        try KeyRing.load(partner, directory: keysPath)
    }
}
