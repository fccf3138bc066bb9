import CoalitionKit
import CoalitionSQLite
import Foundation

/// The data directory: the ledger, the network it was made with, keys, and the folders
/// files pass through.
///
/// ```
/// coalition-data/
///   ledger.sqlite    the clearing ledger
///   ledger.sqlite-state  its state in memory, saved when a command ends (a cache: see StateFile)
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
    var networkPath: String { path("network") }
    var keysPath: String { path("keys") }
    static let folders = ["inbox", "archive", "rejected", "outbox", "reports"]

    /// Makes a new data directory from a partners directory (`partners/`): copies the network
    /// definition, installs the keys owner-only, creates the ledger.
    func create(from partnersDirectory: String) throws -> (Network, SQLiteStore) {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: ledgerPath) {
            throw CoalitionError(.ledgerExists, "a ledger already exists here", at: Place(file: root))
        }
        let network = try NetworkLoader.load(directory: partnersDirectory)
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
        let store = try SQLiteStore(path: ledgerPath, create: true)
        return (network, store)
    }

    /// Opens an existing data directory to read, refusing one `init` did not make. Takes no
    /// lock: a command that writes uses `openForWriting`.
    func open() throws -> Ledger {
        try requireLedger()
        let ledger = try ElapsedLine.around("opening the ledger") {
            let store = try SQLiteStore(path: ledgerPath)
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
        let store = try SQLiteStore(path: ledgerPath)
        try store.checkIntegrity()
        let network = try NetworkLoader.load(directory: networkPath)
        let ledger = try Ledger(network: network, store: store)
        opened?.add(ledger)
        return ledger
    }

    private func requireLedger() throws {
        guard FileManager.default.fileExists(atPath: ledgerPath) else {
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
