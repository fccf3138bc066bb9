import CoalitionKit
import Foundation

/// A single record as a partner sends it to `POST /v1/records` (`docs/api.md`): the fields
/// of a settlement file's record line, by name. It becomes that line and is read by the
/// file's own record parser, so the rules, limits and reason codes are the file's. A
/// partner's client (the demo's front desk) encodes one to send.
package struct RecordRequest: Codable, Sendable {
    let type: String
    let recordId: String
    let member: String?
    let original: String?
    let units: Int64?
    let occurredAt: String
    let reference: String?
    /// ENROLL only: the referral code the new member gave.
    let referralCode: String?

    package init(
        type: String,
        recordId: String,
        member: String? = nil,
        original: String? = nil,
        units: Int64? = nil,
        occurredAt: String,
        reference: String? = nil,
        referralCode: String? = nil
    ) {
        self.type = type
        self.recordId = recordId
        self.member = member
        self.original = original
        self.units = units
        self.occurredAt = occurredAt
        self.reference = reference
        self.referralCode = referralCode
    }

    /// The record, or its refusal with the file's reason code.
    static func record(from body: [UInt8], partner: PartnerID) -> Result<LedgerRecord, CoalitionError> {
        let request: RecordRequest
        do {
            request = try JSONDecoder().decode(RecordRequest.self, from: Data(body))
        } catch {
            return .failure(
                CoalitionError(
                    .malformedRecord,
                    "the body is not a record as JSON: an object with type, recordId, occurredAt and the type's fields"
                )
            )
        }
        return request.line.flatMap { LedgerRecord.parse(line: $0, partner: partner) }
    }

    /// The settlement file's line for this record: `ENROLL|id|member|time|ref`,
    /// `EARN|id|member|units|time|ref`, `REDEEM|…` and `REVERSAL|id|original|units|time|ref`.
    var line: Result<String, CoalitionError> {
        guard let recordType = RecordType(rawValue: type) else {
            return .failure(
                CoalitionError(
                    .unknownRecordType,
                    "'\(type.prefix(32))' is not a record type (ENROLL, EARN, REDEEM, REVERSAL)"
                )
            )
        }
        let amount = units.map(String.init) ?? ""
        let fields: [String]
        switch recordType {
        case .enroll:
            guard units == nil, original == nil else { return .failure(Self.extra("ENROLL", "units or original")) }
            // The referral code is the file's optional sixth field.
            fields =
                ["ENROLL", recordId, member ?? "", occurredAt, reference ?? ""] + (referralCode.map { [$0] } ?? [])
        case .earn, .redeem:
            guard original == nil, referralCode == nil else {
                return .failure(Self.extra(type, "original or referralCode"))
            }
            fields = [type, recordId, member ?? "", amount, occurredAt, reference ?? ""]
        case .reversal:
            guard member == nil, referralCode == nil else {
                return .failure(Self.extra("REVERSAL", "member or referralCode"))
            }
            fields = ["REVERSAL", recordId, original ?? "", amount, occurredAt, reference ?? ""]
        }
        // A separator or a line end inside a field would make another line than the one
        // sent: refused, as a file's line with too many fields is.
        guard fields.allSatisfy({ !$0.utf8.contains(where: { $0 == 0x7C || $0 == 0x0A || $0 == 0x0D }) }) else {
            return .failure(CoalitionError(.malformedRecord, "a field holds '|' or a line break"))
        }
        return .success(fields.joined(separator: "|"))
    }

    static func extra(_ type: String, _ fields: String) -> CoalitionError {
        CoalitionError(.malformedRecord, "a \(type) record has no \(fields)")
    }
}

/// The JSON body of a refused single record: the error body's `code` and `message`, with
/// the outcome and the record id.
struct RecordRefusal: Encodable {
    let code: String
    let message: String
    let outcome: String
    let recordId: String?
}

extension PartnerAPI {
    /// `POST /v1/records`: applies one record and answers, once it is durable, with its
    /// receipt (200), its refusal (422), or a conflict with the record applied under its id
    /// before (409).
    func submitRecord(_ request: HTTPRequest, from partner: PartnerID) throws -> HTTPResponse {
        guard case .bytes(let body) = request.body else {
            throw APIError(status: 413, code: .malformedRecord, message: "a record is at most 64 KiB")
        }
        let record: LedgerRecord
        switch RecordRequest.record(from: body, partner: partner) {
        case .success(let parsed): record = parsed
        case .failure(let error): return Self.refusal(error, status: 422)
        }
        switch try writer.submit(record, receivedAt: now()) {
        case .applied(let receipt):
            var event = LedgerEvent(event: "record_applied")
            event.partner = partner.description
            event.posting = receipt.posting
            event.points = receipt.points
            event.member = receipt.member
            LedgerEventSink.record(event)
            return Self.receipt(receipt, status: "applied")
        case .replayed(let receipt):
            return Self.receipt(receipt, status: "replayed")
        case .rejected(let error):
            var event = LedgerEvent(event: "record_rejected")
            event.partner = partner.description
            event.code = error.code.rawValue
            LedgerEventSink.record(event)
            return Self.refusal(error, status: 422)
        case .conflict(let error):
            return Self.refusal(error, status: 409)
        }
    }

    static func receipt(_ receipt: RecordReceipt, status: String) -> HTTPResponse {
        var response = JSON.response(receipt)
        response.headers.add("Coalition-Record-Status", status)
        return response
    }

    static func refusal(_ error: CoalitionError, status: Int) -> HTTPResponse {
        let body = RecordRefusal(
            code: error.code.rawValue,
            message: error.message,
            outcome: "rejected",
            recordId: error.place.recordID
        )
        var response = JSON.response(body, status: status)
        response.headers.add("Coalition-Record-Status", status == 409 ? "conflict" : "rejected")
        response.headers.add("Coalition-Reason-Code", error.code.rawValue)
        return response
    }
}
