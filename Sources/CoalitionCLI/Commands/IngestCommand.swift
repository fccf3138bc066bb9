import CoalitionFiles
import CoalitionKit
import Foundation

struct SubmitCommand: Command {
    static let path = ["submit"]
    static let summary = "verify and apply settlement files given by path"
    static let synopsis = "FILE..."
    static let options: [OptionSpec] = [waitOption]
    static let discussion = """
        Each file is verified (header, key, signature) before anything is applied, then applied
        whole or not at all. A copy is filed under DIR/archive/ or, rejected, under DIR/rejected/
        with a .reason file; the signed acknowledgement goes to DIR/outbox/. Exits 1 if any file
        was rejected (records rejected inside an accepted file are reported in its
        acknowledgement).
        """

    static func run(_ context: Context) throws -> ExitCode {
        let files = context.arguments.positional
        guard !files.isEmpty else { throw CoalitionError(.usage, "name at least one file\nusage: \(usage)") }
        // Bad input, found before anything is opened: exit 3, not an internal failure. The
        // file is opened again without blocking and checked on its descriptor when read.
        for file in files {
            var status = stat()
            guard stat(file, &status) == 0 else {
                throw CoalitionError(
                    errno == ENOENT || errno == ENOTDIR ? .fileNotFound : .io,
                    "cannot read the file: \(String(cString: strerror(errno)))",
                    at: Place(file: file)
                )
            }
            guard status.st_mode & S_IFMT == S_IFREG else {
                throw CoalitionError(
                    .notARegularFile,
                    "not a regular file (a directory, FIFO, device or socket): name settlement files",
                    at: Place(file: file)
                )
            }
        }
        return try intake(files, move: false, context)
    }

    static func intake(
        _ files: [String],
        move: Bool,
        setAside: [(String, CoalitionError)] = [],
        _ context: Context
    ) throws -> ExitCode {
        let ledger = try context.openForWriting()
        let intake = FileIntake(data: context.data, ledger: ledger, now: Clock.now, showProgress: !context.json)
        var reports: [FileIntake.Report] = []
        for (path, error) in setAside {
            let report = try intake.setAside(path, because: error)
            reports.append(report)
            if !context.json { Output.line(FileIntake.describe(report)) }
        }
        for (index, file) in files.enumerated() {
            let report = try intake.process(
                file,
                move: move,
                position: files.count > 1 ? (index + 1, files.count) : nil
            )
            reports.append(report)
            if !context.json { Output.line(FileIntake.describe(report)) }
        }
        if !context.json && files.count > 1 { Output.line(FileIntake.total(reports)) }
        if context.json {
            Output.json(FileIntake.Answers(files: reports.map(FileIntake.Answer.init)), slashes: .escaped)
        }
        let anyRejected = reports.contains {
            if case .rejected = $0.result.status { return true }
            return false
        }
        return anyRejected ? .rejected : .success
    }
}

struct IngestCommand: Command {
    static let path = ["ingest"]
    static let summary = "process every file in DIR/inbox/, oldest created-at first"
    static let synopsis = ""
    static let options: [OptionSpec] = [waitOption]
    static let discussion = """
        Moves each file to DIR/archive/ or DIR/rejected/ (with a .reason file) and writes its
        acknowledgement to DIR/outbox/. Files are taken in the order of their header's
        created-at, then partner and batch number. Put files into the inbox atomically (write
        them elsewhere, then rename). Running it again after a crash finishes the job without
        applying anything twice. Exits 1 if any file was rejected.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let inbox = context.data.path("inbox")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: inbox)) ?? []
        let paths = names.filter { !$0.hasPrefix(".") }.sorted().map { (inbox as NSString).appendingPathComponent($0) }
        // Only regular files are taken; anything else is moved aside without being opened.
        var files: [String] = []
        var others: [(String, CoalitionError)] = []
        for path in paths {
            if let error = notARegularFile(path) { others.append((path, error)) } else { files.append(path) }
        }
        let ordered = files.map { path in (path, headerOrder(path)) }.sorted { a, b in
            a.1 != b.1 ? a.1 < b.1 : a.0 < b.0
        }.map(\.0)
        if ordered.isEmpty && others.isEmpty && !context.json { Output.line("inbox is empty") }
        return try SubmitCommand.intake(ordered, move: true, setAside: others, context)
    }

    /// Why the inbox entry at `path` is not taken, judged by `lstat` (a link is not
    /// followed: a dangling link or a loop is set aside like a directory); nil for a
    /// regular file.
    static func notARegularFile(_ path: String) -> CoalitionError? {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            return CoalitionError(
                .io,
                "cannot look at the entry: \(String(cString: strerror(errno)))",
                at: Place(file: path)
            )
        }
        let kind: String
        switch status.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: kind = "a directory"
        case S_IFLNK: kind = "a symbolic link"
        case S_IFIFO: kind = "a FIFO"
        case S_IFSOCK: kind = "a socket"
        default: kind = "a device"
        }
        return CoalitionError(
            .notARegularFile,
            "\(kind), not a regular file: put settlement files into the inbox, renamed into place",
            at: Place(file: path)
        )
    }

    /// `created-at|partner|sequence` from a file's first line, for ordering; files whose
    /// header does not read sort first and are rejected with their reason when processed.
    static func headerOrder(_ path: String) -> String {
        // Without blocking and with no trap: the entry may have changed since it was looked at.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var start = [UInt8](repeating: 0, count: 256)
        let count = start.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return "" }
        let line = String(decoding: start.prefix(count).prefix { $0 != 10 }, as: UTF8.self)
        let fields = line.split(separator: "|", omittingEmptySubsequences: false)
        guard fields.count == 8 else { return "" }
        let sequence = String(fields[5])
        return "\(fields[6])|\(fields[4])|\(String(repeating: "0", count: max(0, 18 - sequence.count)))\(sequence)"
    }
}

struct SignCommand: Command {
    static let path = ["sign"]
    static let summary = "sign a settlement file with a key file (the partner's side)"
    static let synopsis = "FILE --key KEYFILE"
    static let options: [OptionSpec] =
        GivenKey.options + [
            .flag("rehead", "first rewrite the header's key id to the key file's (the file must not be signed yet)")
        ]
    static let discussion = """
        Appends the line S|<HMAC-SHA256 in hex> over every byte of FILE, which must end with a
        newline and not be signed yet. Needs no data directory. The key file must hold the key
        the header names (its file name is the key id, or --key-id says it): a file signed
        under another key than its header names is rejected whole, and so is every later file
        of the partner after it (KEY_MISMATCH, exit 3, nothing written). --rehead rewrites the
        header's key id to the key file's first, for a file made with the wrong id.
        """

    static func run(_ context: Context) throws -> ExitCode {
        let file = try positional(context, count: 1)[0]
        guard let keyPath = context.arguments.value("key") else {
            throw CoalitionError(.usage, "--key KEYFILE is required\nusage: \(usage)")
        }
        let key = try GivenKey(context, path: keyPath)
        let header = try GivenKey.header(of: file)
        let reheaded = header.keyID != key.id
        if reheaded && !context.arguments.has("rehead") {
            try key.check(
                against: header,
                file: file,
                hint: "sign with the header's key, or give --rehead to name this key in the header"
            )
        }
        if reheaded {
            guard !GivenKey.isSigned(file) else {
                throw CoalitionError(
                    .badTrailer,
                    "the file is already signed: re-heading it would break its signature",
                    at: Place(file: file)
                )
            }
            try GivenKey.rehead(file, keyID: key.id)
        }
        let signature = try FileSigning.sign(path: file, key: key.secret)
        if context.json {
            Output.json(
                SignOutput(file: file, key: key.id, reheaded: reheaded, signature: Hex.encode(signature))
            )
        } else {
            if reheaded { Output.line("re-headed \(file): key id \(header.keyID) → \(key.id)") }
            Output.line("signed \(file): S|\(Hex.encode(signature))")
        }
        return .success
    }

    struct SignOutput: Encodable {
        let file: String
        let key: String
        let reheaded: Bool
        let signature: String
    }
}

struct VerifyCommand: Command {
    static let path = ["verify"]
    static let summary = "check the signature of an acknowledgement or statement (the partner's side)"
    static let synopsis = "FILE [--key KEYFILE]"
    static let options: [OptionSpec] =
        GivenKey.options.map {
            $0.name == "key"
                ? .value("key", "KEYFILE", "check under this key file instead of the data directory's key ring") : $0
        } + [.flag("any", "accept any kind of file of the family, not only coalition → partner ones")]
    static let discussion = """
        Without --key, the key the header names is taken from the data directory's key ring.
        With --key, the key file must be the key the header names (KEY_MISMATCH otherwise, exit
        3): the answer names the key that was used and the file it came from.
        """

    static func run(_ context: Context) throws -> ExitCode {
        let file = try positional(context, count: 1)[0]
        let kinds: Set<FileKind> =
            context.arguments.has("any") ? Set(FileKind.allCases) : [.acknowledgement, .statement]
        let header: FileHeader
        var keyFile: String?
        if let keyPath = context.arguments.value("key") {
            let key = try GivenKey(context, path: keyPath)
            try key.check(
                against: try GivenKey.header(of: file),
                file: file,
                hint: "verify with the key the header names"
            )
            header = try FileSigning.verify(path: file, kinds: kinds, key: key.secret)
            keyFile = keyPath
        } else {
            let ledger = try context.data.open()
            header = try FileSigning.verify(path: file, kinds: kinds, network: ledger.network) {
                try context.data.keyRing(for: $0)
            }
        }
        if context.json {
            Output.json(
                VerifyOutput(
                    file: file,
                    valid: true,
                    kind: header.kind.rawValue,
                    partner: header.partner.rawValue,
                    sequence: header.sequence,
                    createdAt: header.createdAt.description,
                    key: header.keyID,
                    keyFile: keyFile
                )
            )
        } else {
            let source = keyFile.map { "key \(header.keyID) from \($0)" } ?? "key \(header.keyID) from the key ring"
            Output.line(
                "\(file): signature valid: \(header.kind.rawValue) \(header.kind.direction.rawValue) for \(header.partner), "
                    + "number \(header.sequence), created \(header.createdAt), under \(source)"
            )
        }
        return .success
    }

    struct VerifyOutput: Encodable {
        let file: String
        let valid: Bool
        let kind: String
        let partner: String
        let sequence: Int64
        let createdAt: String
        let key: String
        let keyFile: String?
    }
}
