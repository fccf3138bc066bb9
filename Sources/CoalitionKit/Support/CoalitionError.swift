/// Where a fault was found: a file and line, a field, a record id. Every part is optional;
/// the description prints the parts that are known, most specific last.
public struct Place: Hashable, Sendable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    public var field: String?
    public var recordID: String?

    public init(file: String? = nil, line: Int? = nil, field: String? = nil, recordID: String? = nil) {
        self.file = file
        self.line = line
        self.field = field
        self.recordID = recordID
    }

    public var description: String {
        var parts: [String] = []
        if let file {
            parts.append(line.map { "\(file):\($0)" } ?? file)
        } else if let line {
            parts.append("line \(line)")
        }
        if let field { parts.append("field \(field)") }
        if let recordID { parts.append("record \(recordID)") }
        return parts.joined(separator: ", ")
    }

    /// This place with the parts of `other` that this one does not know yet.
    public func filling(from other: Place) -> Place {
        Place(
            file: file ?? other.file,
            line: line ?? other.line,
            field: field ?? other.field,
            recordID: recordID ?? other.recordID
        )
    }
}

/// The one error type of Coalition: a stable reason code for machines, a message for people,
/// and the place it is about. Codes are documented in `docs/reason-codes.md`.
public struct CoalitionError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: ReasonCode
    public var message: String
    public var place: Place

    public init(_ code: ReasonCode, _ message: String, at place: Place = Place()) {
        self.code = code
        self.message = message
        self.place = place
    }

    /// Whether the store failed, or this process may not write the ledger now (another
    /// writer holds it: `WRITER_FENCED`, `LEDGER_BUSY`): nothing about the input is wrong, so
    /// a batch that meets it fails whole and its input is never recorded as rejected.
    public var isStoreFault: Bool {
        code == .storeFailure || code == .writerFenced || code == .ledgerBusy
    }

    public var description: String {
        let whereText = place.description
        return whereText.isEmpty ? "\(code): \(message)" : "\(code): \(message) (\(whereText))"
    }

    /// The same error, with the parts of `place` it did not know yet.
    public func located(_ place: Place) -> CoalitionError {
        var copy = self
        copy.place = self.place.filling(from: place)
        return copy
    }
}

/// Runs `body`, and adds `place` to any `CoalitionError` it throws.
@inlinable
public func at<T>(_ place: Place, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CoalitionError {
        throw error.located(place)
    }
}

/// A stable, machine-readable reason code. New codes can be added without breaking callers.
public struct ReasonCode: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
}

extension ReasonCode {
    // Amounts and units.
    public static let overflow: ReasonCode = "AMOUNT_OVERFLOW"
    public static let badAmount: ReasonCode = "BAD_AMOUNT"
    public static let badRate: ReasonCode = "BAD_RATE"
    public static let unknownCurrency: ReasonCode = "UNKNOWN_CURRENCY"
    public static let currencyMismatch: ReasonCode = "CURRENCY_MISMATCH"
    public static let badTime: ReasonCode = "BAD_TIME"

    // Configuration.
    public static let badConfig: ReasonCode = "BAD_CONFIG"
    public static let unknownPartner: ReasonCode = "UNKNOWN_PARTNER"
    public static let badKey: ReasonCode = "BAD_KEY"

    // Ledger operations (record level).
    public static let unknownMember: ReasonCode = "UNKNOWN_MEMBER"
    public static let badMemberNumber: ReasonCode = "BAD_MEMBER_NUMBER"
    public static let memberExists: ReasonCode = "MEMBER_EXISTS"
    public static let memberClosed: ReasonCode = "MEMBER_CLOSED"
    public static let insufficientPoints: ReasonCode = "INSUFFICIENT_POINTS"
    public static let duplicateRecord: ReasonCode = "DUPLICATE_RECORD"
    public static let unknownOriginal: ReasonCode = "UNKNOWN_ORIGINAL"
    public static let alreadyReversed: ReasonCode = "ALREADY_REVERSED"
    public static let reversalExceedsOriginal: ReasonCode = "REVERSAL_EXCEEDS_ORIGINAL"
    public static let notReversible: ReasonCode = "NOT_REVERSIBLE"
    public static let rateNotInForce: ReasonCode = "RATE_NOT_IN_FORCE"
    public static let badRecordID: ReasonCode = "BAD_RECORD_ID"

    // Referrals (record level).
    public static let badReferralCode: ReasonCode = "BAD_REFERRAL_CODE"
    public static let unknownReferralCode: ReasonCode = "UNKNOWN_REFERRAL_CODE"
    public static let selfReferral: ReasonCode = "SELF_REFERRAL"
    public static let alreadyReferred: ReasonCode = "ALREADY_REFERRED"
    public static let referralLimit: ReasonCode = "REFERRAL_LIMIT"
    public static let referralsNotOffered: ReasonCode = "REFERRALS_NOT_OFFERED"

    // Store and data directory.
    public static let storeFailure: ReasonCode = "STORE_FAILURE"
    /// A failure inside a command or the server that has no code of its own (exit 4, 500).
    public static let internalError: ReasonCode = "INTERNAL"
    public static let notALedger: ReasonCode = "NOT_A_LEDGER"
    public static let newerSchema: ReasonCode = "NEWER_SCHEMA"
    public static let noLedger: ReasonCode = "NO_LEDGER"
    public static let ledgerExists: ReasonCode = "LEDGER_EXISTS"
    public static let auditFailed: ReasonCode = "AUDIT_FAILED"
    public static let io: ReasonCode = "IO_ERROR"
    public static let usage: ReasonCode = "USAGE"
    public static let crypto: ReasonCode = "CRYPTO_FAILURE"
    /// Another process is writing to the data directory (it holds the writer lock).
    public static let ledgerBusy: ReasonCode = "LEDGER_BUSY"
    /// A server's writer lease on a PostgreSQL ledger was taken over by another server: the
    /// batch was refused and nothing written (`WriterLease`).
    public static let writerFenced: ReasonCode = "WRITER_FENCED"
    /// The store failed its integrity check: nothing is written into it.
    public static let ledgerDamaged: ReasonCode = "LEDGER_DAMAGED"
    /// A file named on the command line is not there.
    public static let fileNotFound: ReasonCode = "FILE_NOT_FOUND"
    /// A path that should be a regular file is a directory, FIFO, device, socket or link.
    public static let notARegularFile: ReasonCode = "NOT_A_REGULAR_FILE"
    /// A cycle's cut-off lies in the future.
    public static let cutoffInFuture: ReasonCode = "CUTOFF_IN_FUTURE"
}

extension ReasonCode {
    // Settlement files: whole-file faults.
    public static let emptyFile: ReasonCode = "EMPTY_FILE"
    public static let byteOrderMark: ReasonCode = "BYTE_ORDER_MARK"
    public static let carriageReturn: ReasonCode = "CARRIAGE_RETURN"
    public static let invalidUTF8: ReasonCode = "INVALID_UTF8"
    public static let lineTooLong: ReasonCode = "LINE_TOO_LONG"
    public static let badHeader: ReasonCode = "BAD_HEADER"
    public static let unsupportedVersion: ReasonCode = "UNSUPPORTED_VERSION"
    public static let wrongDirection: ReasonCode = "WRONG_DIRECTION"
    public static let unknownKey: ReasonCode = "UNKNOWN_KEY"
    public static let keyNotValid: ReasonCode = "KEY_NOT_VALID"
    /// A key file given by hand is not the key the file's header names.
    public static let keyMismatch: ReasonCode = "KEY_MISMATCH"
    /// The file's key was revoked: refused whatever the file's created-at.
    public static let keyRevoked: ReasonCode = "KEY_REVOKED"
    public static let missingSignature: ReasonCode = "MISSING_SIGNATURE"
    public static let badSignature: ReasonCode = "BAD_SIGNATURE"
    public static let missingTrailer: ReasonCode = "MISSING_TRAILER"
    public static let badTrailer: ReasonCode = "BAD_TRAILER"
    public static let trailerCountMismatch: ReasonCode = "TRAILER_COUNT_MISMATCH"
    public static let trailerTotalMismatch: ReasonCode = "TRAILER_TOTAL_MISMATCH"
    public static let createdAtOutOfWindow: ReasonCode = "CREATED_AT_OUT_OF_WINDOW"
    public static let batchConflict: ReasonCode = "BATCH_CONFLICT"
    public static let sequenceBackwards: ReasonCode = "SEQUENCE_BACKWARDS"
    public static let sequenceGap: ReasonCode = "SEQUENCE_GAP"

    // Settlement files: record faults.
    public static let malformedRecord: ReasonCode = "MALFORMED_RECORD"
    public static let unknownRecordType: ReasonCode = "UNKNOWN_RECORD_TYPE"
}
