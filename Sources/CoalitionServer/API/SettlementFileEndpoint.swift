import CoalitionFiles
import CoalitionKit
import Foundation

/// `POST /v1/settlement-files`: a partner's system delivers a signed settlement file and
/// gets, in the same exchange, the signed acknowledgement `outbox/` gets.
///
/// The answer waits: the file is verified and applied by the ledger writer while the
/// request is open, and answered once its transaction is durable. Files up to the upload
/// maximum are applied in one request; reads by other partners go on meanwhile.
extension PartnerAPI {
    /// Applies the delivered file and answers with its acknowledgement, or its rejection.
    func deliver(_ body: HTTPRequestBody, from partner: PartnerID) throws -> HTTPResponse {
        let now = self.now()
        let name = "\(partner)-upload-" + now.description.filter { $0 != "-" && $0 != ":" }
        let (path, stage) = try staged(body, as: name)
        defer { try? FileManager.default.removeItem(atPath: stage) }
        if let named = PartnerAPI.partnerNamed(inHeaderOf: path), named != partner {
            throw APIError(
                status: 403,
                code: .forbidden,
                message: "the file is not yours: its header names another partner"
            )
        }
        let folders = self.folders
        let rings = authenticator.rings
        let report = try writer.perform { ledger in
            let intake = SettlementIntake(
                ledger: ledger,
                now: now,
                outbox: folders.outbox,
                archive: folders.archive,
                rejected: folders.rejected
            ) { partner in
                guard let ring = rings[partner.id] else {
                    throw CoalitionError(.unknownPartner, "no key ring for \(partner.id)")
                }
                return ring
            }
            return try intake.process(path, filing: .move)
        }
        if report.result.status == .accepted, let summary = report.result.summary {
            var event = LedgerEvent(event: "batch_applied")
            event.partner = partner.description
            event.batch = summary.info.sequence
            event.records = summary.records
            event.accepted = summary.accepted
            event.rejected = summary.rejected
            LedgerEventSink.record(event)
        }
        return PartnerAPI.answer(report.result)
    }

    /// The answer to a file taken in: the acknowledgement (200) or, refused as a whole, its
    /// signed rejection, or a JSON error where none could be signed (409 for a batch number
    /// in conflict with the ones applied, 422 for anything else).
    static func answer(_ result: IngestResult) -> HTTPResponse {
        switch result.status {
        case .accepted, .duplicate:
            let status = result.status == .accepted ? "accepted" : "duplicate"
            guard let ack = result.acknowledgement, let header = result.header else {
                return APIError.from(CoalitionError(.io, "no acknowledgement was written")).response
            }
            return signedFile(
                ack,
                headers: [
                    ("Coalition-Batch-Status", status),
                    ("Location", "/v1/acknowledgements/\(header.sequence)"),
                ]
            )
        case .rejected(let error):
            let conflicts: Set<ReasonCode> = [.batchConflict, .sequenceBackwards, .sequenceGap]
            let status = conflicts.contains(error.code) ? 409 : 422
            guard let ack = result.acknowledgement else {
                return APIError(status: status, code: error.code, message: error.message).response
            }
            return signedFile(
                ack,
                status: status,
                headers: [("Coalition-Batch-Status", "rejected"), ("Coalition-Reason-Code", error.code.rawValue)]
            )
        }
    }

    /// The body as a file named `name` in a folder of its own under `spool/`: the spooled
    /// upload hard-linked there (the transport removes its own name after answering), or
    /// bytes handed over in memory written there. Under that name the batch log records
    /// it and `archive/` keeps it. Returns the file and its folder, to remove once answered.
    private func staged(_ body: HTTPRequestBody, as name: String) throws -> (path: String, stage: String) {
        let fileManager = FileManager.default
        let stage = (folders.spool as NSString).appendingPathComponent("stage-" + Hex.encode(try secureRandomBytes(12)))
        let path = (stage as NSString).appendingPathComponent(name)
        do {
            try fileManager.createDirectory(atPath: stage, withIntermediateDirectories: false)
            switch body {
            case .file(let upload, _):
                do {
                    try fileManager.linkItem(atPath: upload, toPath: path)
                } catch {
                    try fileManager.copyItem(atPath: upload, toPath: path)
                }
            case .bytes(let bytes):
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            }
        } catch {
            try? fileManager.removeItem(atPath: stage)
            throw CoalitionError(.io, "cannot stage the request body", at: Place(file: path))
        }
        return (path, stage)
    }

    /// The partner a settlement file's header names, if its first line reads as one; a file
    /// whose header does not read is left to the ingestor, which rejects it with its reason.
    static func partnerNamed(inHeaderOf path: String) -> PartnerID? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let start = try? handle.read(upToCount: SettlementFormat.maximumLineLength + 1),
            let end = start.firstIndex(of: SettlementFormat.newline)
        else { return nil }
        let line = ArraySlice(Array(start[start.startIndex..<end]))
        return (try? FileHeader(line: line, expecting: [.settlement]))?.partner
    }
}
