/// Where a fault was found: a file and line, a field, a record id. Every part is optional;
/// the description prints the parts that are known, most specific last.
package struct Place: Hashable, Sendable, CustomStringConvertible {
    package var file: String?
    package var line: Int?
    package var field: String?
    package var recordID: String?

    package init(file: String? = nil, line: Int? = nil, field: String? = nil, recordID: String? = nil) {
        self.file = file
        self.line = line
        self.field = field
        self.recordID = recordID
    }

    package var description: String {
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
    package func filling(from other: Place) -> Place {
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
package struct CoalitionError: Error, Hashable, Sendable, CustomStringConvertible {
    package var code: ReasonCode
    package var message: String
    package var place: Place

    package init(_ code: ReasonCode, _ message: String, at place: Place = Place()) {
        self.code = code
        self.message = message
        self.place = place
    }

    /// Whether the store failed, or this process may not write the ledger now (another
    /// writer holds it: `WRITER_FENCED`, `LEDGER_BUSY`): nothing about the input is wrong, so
    /// a batch that meets it fails whole and its input is never recorded as rejected.
    package var isStoreFault: Bool {
        code == .storeFailure || code == .writerFenced || code == .ledgerBusy
    }

    package var description: String {
        let whereText = place.description
        return whereText.isEmpty ? "\(code): \(message)" : "\(code): \(message) (\(whereText))"
    }

    /// The same error, with the parts of `place` it did not know yet.
    package func located(_ place: Place) -> CoalitionError {
        var copy = self
        copy.place = self.place.filling(from: place)
        return copy
    }
}

/// Runs `body`, and adds `place` to any `CoalitionError` it throws.
package func at<T>(_ place: Place, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CoalitionError {
        throw error.located(place)
    }
}

/// A stable, machine-readable reason code. New codes can be added without breaking callers.
package struct ReasonCode: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    package let rawValue: String

    package init(_ rawValue: String) { self.rawValue = rawValue }
    package init(stringLiteral value: String) { self.rawValue = value }
    package var description: String { rawValue }
}

extension ReasonCode {
    // Amounts and units.
    package static let overflow: ReasonCode = "AMOUNT_OVERFLOW"
    package static let badAmount: ReasonCode = "BAD_AMOUNT"
    package static let badRate: ReasonCode = "BAD_RATE"
    package static let unknownCurrency: ReasonCode = "UNKNOWN_CURRENCY"
    package static let currencyMismatch: ReasonCode = "CURRENCY_MISMATCH"
    package static let badTime: ReasonCode = "BAD_TIME"

    // Configuration.
    package static let badConfig: ReasonCode = "BAD_CONFIG"
    package static let unknownPartner: ReasonCode = "UNKNOWN_PARTNER"
    package static let badKey: ReasonCode = "BAD_KEY"

    // Ledger operations (record level).
    package static let unknownMember: ReasonCode = "UNKNOWN_MEMBER"
    package static let badMemberNumber: ReasonCode = "BAD_MEMBER_NUMBER"
    package static let memberExists: ReasonCode = "MEMBER_EXISTS"
    package static let memberClosed: ReasonCode = "MEMBER_CLOSED"
    package static let insufficientPoints: ReasonCode = "INSUFFICIENT_POINTS"
    package static let duplicateRecord: ReasonCode = "DUPLICATE_RECORD"
    package static let unknownOriginal: ReasonCode = "UNKNOWN_ORIGINAL"
    package static let alreadyReversed: ReasonCode = "ALREADY_REVERSED"
    package static let reversalExceedsOriginal: ReasonCode = "REVERSAL_EXCEEDS_ORIGINAL"
    package static let notReversible: ReasonCode = "NOT_REVERSIBLE"
    package static let rateNotInForce: ReasonCode = "RATE_NOT_IN_FORCE"
    package static let badRecordID: ReasonCode = "BAD_RECORD_ID"

    // Referrals (record level).
    package static let badReferralCode: ReasonCode = "BAD_REFERRAL_CODE"
    package static let unknownReferralCode: ReasonCode = "UNKNOWN_REFERRAL_CODE"
    package static let selfReferral: ReasonCode = "SELF_REFERRAL"
    package static let alreadyReferred: ReasonCode = "ALREADY_REFERRED"
    package static let referralLimit: ReasonCode = "REFERRAL_LIMIT"
    package static let referralsNotOffered: ReasonCode = "REFERRALS_NOT_OFFERED"

    // Store and data directory.
    package static let storeFailure: ReasonCode = "STORE_FAILURE"
    /// A failure inside a command or the server that has no code of its own (exit 4, 500).
    package static let internalError: ReasonCode = "INTERNAL"
    package static let notALedger: ReasonCode = "NOT_A_LEDGER"
    package static let newerSchema: ReasonCode = "NEWER_SCHEMA"
    package static let noLedger: ReasonCode = "NO_LEDGER"
    package static let ledgerExists: ReasonCode = "LEDGER_EXISTS"
    package static let auditFailed: ReasonCode = "AUDIT_FAILED"
    package static let io: ReasonCode = "IO_ERROR"
    package static let usage: ReasonCode = "USAGE"
    package static let crypto: ReasonCode = "CRYPTO_FAILURE"
    /// Another process is writing to the data directory (it holds the writer lock).
    package static let ledgerBusy: ReasonCode = "LEDGER_BUSY"
    /// A server's writer lease on a PostgreSQL ledger was taken over by another server: the
    /// batch was refused and nothing written (`WriterLease`).
    package static let writerFenced: ReasonCode = "WRITER_FENCED"
    /// The store failed its integrity check: nothing is written into it.
    package static let ledgerDamaged: ReasonCode = "LEDGER_DAMAGED"
    /// A file named on the command line is not there.
    package static let fileNotFound: ReasonCode = "FILE_NOT_FOUND"
    /// A path that should be a regular file is a directory, FIFO, device, socket or link.
    package static let notARegularFile: ReasonCode = "NOT_A_REGULAR_FILE"
    /// A cycle's cut-off lies in the future.
    package static let cutoffInFuture: ReasonCode = "CUTOFF_IN_FUTURE"
}

extension ReasonCode {
    // Settlement files: whole-file faults.
    package static let emptyFile: ReasonCode = "EMPTY_FILE"
    package static let byteOrderMark: ReasonCode = "BYTE_ORDER_MARK"
    package static let carriageReturn: ReasonCode = "CARRIAGE_RETURN"
    package static let invalidUTF8: ReasonCode = "INVALID_UTF8"
    package static let lineTooLong: ReasonCode = "LINE_TOO_LONG"
    package static let badHeader: ReasonCode = "BAD_HEADER"
    package static let unsupportedVersion: ReasonCode = "UNSUPPORTED_VERSION"
    package static let wrongDirection: ReasonCode = "WRONG_DIRECTION"
    package static let unknownKey: ReasonCode = "UNKNOWN_KEY"
    package static let keyNotValid: ReasonCode = "KEY_NOT_VALID"
    /// A key file given by hand is not the key the file's header names.
    package static let keyMismatch: ReasonCode = "KEY_MISMATCH"
    /// The file's key was revoked: refused whatever the file's created-at.
    package static let keyRevoked: ReasonCode = "KEY_REVOKED"
    package static let missingSignature: ReasonCode = "MISSING_SIGNATURE"
    package static let badSignature: ReasonCode = "BAD_SIGNATURE"
    package static let missingTrailer: ReasonCode = "MISSING_TRAILER"
    package static let badTrailer: ReasonCode = "BAD_TRAILER"
    package static let trailerCountMismatch: ReasonCode = "TRAILER_COUNT_MISMATCH"
    package static let trailerTotalMismatch: ReasonCode = "TRAILER_TOTAL_MISMATCH"
    package static let createdAtOutOfWindow: ReasonCode = "CREATED_AT_OUT_OF_WINDOW"
    package static let batchConflict: ReasonCode = "BATCH_CONFLICT"
    package static let sequenceBackwards: ReasonCode = "SEQUENCE_BACKWARDS"
    package static let sequenceGap: ReasonCode = "SEQUENCE_GAP"

    // Settlement files: record faults.
    package static let malformedRecord: ReasonCode = "MALFORMED_RECORD"
    package static let unknownRecordType: ReasonCode = "UNKNOWN_RECORD_TYPE"
}
