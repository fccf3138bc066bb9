import Foundation

/// The record types of a settlement file.
package enum RecordType: String, Sendable, CaseIterable {
    case enroll = "ENROLL"
    case earn = "EARN"
    case redeem = "REDEEM"
    case reversal = "REVERSAL"

    /// The type's place in `allCases` (and in `ControlTotals`).
    var index: Int {
        switch self {
        case .enroll: 0
        case .earn: 1
        case .redeem: 2
        case .reversal: 3
        }
    }
}

/// Counts and control totals per record type, as the trailer states them and as the reader
/// counts them.
package struct ControlTotals: Hashable, Sendable {
    package var records = 0
    /// Per record type, by `RecordType.index`: counted for every record, so no dictionary.
    private var countByType: [Int] = [0, 0, 0, 0]
    /// Sums of the amount fields (units in the partner's unit) per type; an amount field
    /// that is not 1 to 18 digits counts 0.
    private var totalByType: [Int128] = [0, 0, 0, 0]

    package init() {}

    package func count(_ type: RecordType) -> Int { countByType[type.index] }
    package func total(_ type: RecordType) -> Int128 { totalByType[type.index] }

    mutating func add(_ type: RecordType?, amount: Int64) {
        records += 1
        guard let type else { return }
        countByType[type.index] += 1
        totalByType[type.index] += Int128(amount)
    }

    /// `T|records|ENROLL count|EARN count|EARN total|REDEEM count|REDEEM total|REVERSAL count|REVERSAL total`
    package var line: String {
        "T|\(records)|\(count(.enroll))|\(count(.earn))|\(total(.earn))|\(count(.redeem))|\(total(.redeem))|"
            + "\(count(.reversal))|\(total(.reversal))"
    }

    /// Parses a trailer line; nil if it is not one.
    init?(trailer fields: [UnsafeBufferPointer<UInt8>.SubSequence]) {
        guard fields.count == 9 else { return nil }
        func big(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> Int128? {
            guard !bytes.isEmpty, bytes.count <= 38, bytes.count == 1 || bytes.first != 48 else { return nil }
            var value: Int128 = 0
            for byte in bytes {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int128(byte - 48)
            }
            return value
        }
        guard let records = big(fields[1]), let enroll = big(fields[2]), let earn = big(fields[3]),
            let earnTotal = big(fields[4]), let redeem = big(fields[5]), let redeemTotal = big(fields[6]),
            let reversal = big(fields[7]), let reversalTotal = big(fields[8]),
            let r = Int(exactly: records), let e0 = Int(exactly: enroll), let e1 = Int(exactly: earn),
            let e2 = Int(exactly: redeem), let e3 = Int(exactly: reversal)
        else { return nil }
        self.records = r
        countByType = [e0, e1, e2, e3]
        totalByType = [0, earnTotal, redeemTotal, reversalTotal]
    }

    /// Whether `other` states the same counts and totals.
    func matches(_ other: ControlTotals) -> (counts: Bool, totals: Bool) {
        var countsMatch = records == other.records
        var totalsMatch = true
        for type in RecordType.allCases {
            if count(type) != other.count(type) { countsMatch = false }
            if total(type) != other.total(type) { totalsMatch = false }
        }
        return (countsMatch, totalsMatch)
    }
}

/// One line of a settlement file's body, parsed.
enum BodyLine {
    case record(LedgerRecord)
    /// A record line that cannot be applied as written; it is rejected alone.
    case fault(recordID: String, CoalitionError)
    case trailer(ControlTotals?)
    case signature
}

/// Parses the body lines of a settlement file from bytes, without a `String` per field.
enum RecordParser {
    /// The fields of a line, split into an array reused from line to line.
    typealias Fields = [UnsafeBufferPointer<UInt8>.SubSequence]

    /// Parses `line` of `partner`'s file; `totals` counts it. `fields` is scratch space,
    /// kept by the caller so that no array is made for each line.
    static func parse(
        _ line: UnsafeBufferPointer<UInt8>,
        number: Int,
        partner: PartnerID,
        totals: inout ControlTotals,
        fields: inout Fields
    ) -> BodyLine {
        split(line, into: &fields)
        return parse(fields: fields, partner: partner, totals: &totals)
    }

    /// `line` cut at every separator (empty fields kept), as `split` would.
    static func split(_ line: UnsafeBufferPointer<UInt8>, into fields: inout Fields) {
        fields.removeAll(keepingCapacity: true)
        var start = line.startIndex
        var index = start
        while index < line.endIndex {
            if line[index] == SettlementFormat.separator {
                fields.append(line[start..<index])
                start = index + 1
            }
            index += 1
        }
        fields.append(line[start..<line.endIndex])
    }

    /// Whether `field` is exactly `literal`: bytes compared in place, not two sequences walked
    /// element by element.
    @inline(__always)
    private static func matches(_ field: Slice<UnsafeBufferPointer<UInt8>>, _ literal: StaticString) -> Bool {
        field.count == literal.utf8CodeUnitCount
            && (field.isEmpty
                || memcmp(field.base.baseAddress! + field.startIndex, literal.utf8Start, field.count) == 0)
    }

    private static func parse(fields: Fields, partner: PartnerID, totals: inout ControlTotals) -> BodyLine {
        let type = fields[0]
        if matches(type, "T") { return .trailer(ControlTotals(trailer: fields)) }
        if matches(type, "S") { return .signature }
        let recordID = fields.count > 1 ? String(decoding: fields[1], as: UTF8.self) : ""
        func fault(_ code: ReasonCode, _ message: String) -> BodyLine {
            .fault(recordID: RecordKey.isValidID(recordID) ? recordID : "", CoalitionError(code, message))
        }
        let recordType: RecordType
        if matches(type, "EARN") {
            recordType = .earn
        } else if matches(type, "REDEEM") {
            recordType = .redeem
        } else if matches(type, "REVERSAL") {
            recordType = .reversal
        } else if matches(type, "ENROLL") {
            recordType = .enroll
        } else {
            totals.add(nil, amount: 0)
            let shown = String(decoding: type.prefix(32), as: UTF8.self)
            return fault(.unknownRecordType, "'\(shown)' is not a record type (ENROLL, EARN, REDEEM, REVERSAL)")
        }
        let expectedFields = recordType == .enroll ? 5 : 6
        let amountField: Int64 = recordType == .enroll || fields.count < 4 ? 0 : (FieldParser.number(fields[3]) ?? 0)
        totals.add(recordType, amount: amountField)
        // An ENROLL line may carry a sixth field: the referral code the member gave.
        let hasReferralField = recordType == .enroll && fields.count == 6
        guard fields.count == expectedFields || hasReferralField else {
            return fault(
                .malformedRecord,
                "a \(recordType.rawValue) line has \(expectedFields) fields separated by '|', this one has \(fields.count)"
            )
        }
        guard RecordKey.isValidID(bytes: fields[1]) else {
            // Quoted fields are cut short, so the R line stays within the line limit.
            return fault(
                .badRecordID,
                "record id '\(recordID.prefix(64))' is not 1 to 64 printable ASCII characters without '|'"
            )
        }
        let key = RecordKey(trusted: partner, recordID)
        let timeField = fields[expectedFields - 2]
        guard let occurred = FieldParser.time(timeField) else {
            return fault(
                .badTime,
                "'\(String(decoding: timeField.prefix(40), as: UTF8.self))' is not a UTC time YYYY-MM-DDTHH:MM:SSZ"
            )
        }
        let reference = fields[expectedFields - 1]
        guard reference.count <= 256, FieldParser.unescapeIsValid(reference) else {
            return fault(
                .malformedRecord,
                "the reference is longer than 256 bytes, has a malformed %XX escape, or a control byte not escaped"
            )
        }
        switch body(recordType, fields: fields, hasReferralField: hasReferralField) {
        case .success(let body): return .record(LedgerRecord(key: key, occurredAt: occurred, body: body))
        case .failure(let error): return fault(error.code, error.message)
        }
    }

    /// What a record of `recordType` does, from its fields after the record id; or the fault
    /// in them.
    private static func body(
        _ recordType: RecordType,
        fields: Fields,
        hasReferralField: Bool
    ) -> Result<LedgerRecord.Body, CoalitionError> {
        func amount(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> Int64? {
            guard let value = FieldParser.number(bytes), value >= 1, value <= maximumRecordAmount else { return nil }
            return value
        }
        func badAmount(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> Result<LedgerRecord.Body, CoalitionError> {
            .failure(
                CoalitionError(
                    .badAmount,
                    "amount '\(String(decoding: bytes.prefix(40), as: UTF8.self))' is not a whole number from 1 to \(maximumRecordAmount)"
                )
            )
        }
        switch recordType {
        case .enroll, .earn, .redeem:
            guard let member = MemberNumber(bytes: fields[2]) else {
                return .failure(
                    CoalitionError(
                        .badMemberNumber,
                        "'\(String(decoding: fields[2].prefix(40), as: UTF8.self))' is not a member number with a valid check digit"
                    )
                )
            }
            if recordType == .enroll {
                var code: ReferralCode?
                if hasReferralField && !fields[5].isEmpty {
                    do {
                        code = try ReferralCode(String(decoding: fields[5].prefix(64), as: UTF8.self))
                    } catch let error as CoalitionError {
                        return .failure(error)
                    } catch {
                        return .failure(CoalitionError(.badReferralCode, "the referral code is not one"))
                    }
                }
                return .success(.enroll(member: member, referralCode: code))
            }
            guard let units = amount(fields[3]) else { return badAmount(fields[3]) }
            return .success(
                recordType == .earn ? .earn(member: member, units: units) : .redeem(member: member, units: units)
            )
        case .reversal:
            let original = String(decoding: fields[2], as: UTF8.self)
            guard RecordKey.isValidID(original) else {
                return .failure(
                    CoalitionError(.badRecordID, "original record id '\(original.prefix(64))' is not a record id")
                )
            }
            var units: Int64?
            if !fields[3].isEmpty {
                guard let value = amount(fields[3]) else { return badAmount(fields[3]) }
                units = value
            }
            return .success(.reverse(original: original, units: units))
        }
    }
}

extension FieldParser {
    /// Whether every `%` in `bytes` starts a two-hex-digit escape.
    static func unescapeIsValid(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] < 32 || bytes[index] == 127 { return false }
            if bytes[index] == 37 {
                guard index + 2 < bytes.endIndex else { return false }
                guard Hex.decode([bytes[index + 1], bytes[index + 2]]) != nil else { return false }
                index += 3
            } else {
                index += 1
            }
        }
        return true
    }
}

extension MemberNumber {
    /// Parses the digits of a member number in a file (no spaces), checking its Luhn digit.
    init?(bytes: UnsafeBufferPointer<UInt8>.SubSequence) {
        let count = bytes.count
        guard count >= 8, count <= 18, bytes.first != 48 else { return nil }
        var value: UInt64 = 0
        var sum = 0
        var position = 0
        var index = bytes.endIndex
        while index > bytes.startIndex {
            index -= 1
            let digit = Int(bytes[index]) &- 48
            guard digit >= 0 && digit <= 9 else { return nil }
            var d = digit
            if position % 2 == 1 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
            position += 1
        }
        guard sum % 10 == 0 else { return nil }
        for byte in bytes { value = value * 10 + UInt64(byte - 48) }
        self.init(trusted: value)
    }
}
