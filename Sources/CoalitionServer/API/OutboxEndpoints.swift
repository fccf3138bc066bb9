import CoalitionFiles
import CoalitionKit
import Foundation

/// What a partner fetches: acknowledgements and statements, the signed files of `outbox/`
/// served as they are. None of these waits for the ledger writer.
extension PartnerAPI {
    /// One statement in the list of `GET /v1/statements`.
    package struct StatementEntry: Codable, Sendable, Equatable {
        package let cycle: Int64
        /// Where to fetch it: `/v1/statements/{cycle}`.
        package let href: String
        /// Its size in bytes.
        package let bytes: Int64

        package init(cycle: Int64, href: String, bytes: Int64) {
            self.cycle = cycle
            self.href = href
            self.bytes = bytes
        }
    }

    /// The body of `GET /v1/statements`: the partner's statements, oldest cycle first.
    package struct StatementList: Codable, Sendable, Equatable {
        package let statements: [StatementEntry]
    }

    /// `GET /v1/acknowledgements/{sequence}`: the acknowledgement of `partner`'s applied batch.
    func acknowledgement(_ sequence: Int64, of partner: PartnerID) throws(APIError) -> HTTPResponse {
        // Only the partner and the number name the file; the rest of the header is not used.
        let header = FileHeader(
            kind: .settlement,
            partner: partner,
            sequence: sequence,
            createdAt: Timestamp(seconds: 0),
            keyID: ""
        )
        let path = Ingestor.acknowledgementPath(folders.outbox, header)
        guard FileManager.default.fileExists(atPath: path) else { throw APIError.notFound }
        return PartnerAPI.signedFile(path)
    }

    /// `GET /v1/statements/{cycle}`: `partner`'s signed statement of a closed cycle.
    func statement(_ cycle: Int64, of partner: PartnerID) throws(APIError) -> HTTPResponse {
        let path = (folders.outbox as NSString).appendingPathComponent(Statement.fileName(for: partner, cycle: cycle))
        guard FileManager.default.fileExists(atPath: path) else { throw APIError.notFound }
        return PartnerAPI.signedFile(path)
    }

    /// `GET /v1/statements`: every statement of `partner` in `outbox/`.
    func statements(of partner: PartnerID) -> HTTPResponse {
        let prefix = "\(partner)-cycle-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folders.outbox)) ?? []
        var entries: [StatementEntry] = []
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".stmt") {
            let digits = name.dropFirst(prefix.count).dropLast(".stmt".count)
            guard let cycle = Int64(digits), cycle > 0,
                Statement.fileName(for: partner, cycle: cycle) == name
            else { continue }
            let path = (folders.outbox as NSString).appendingPathComponent(name)
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
            entries.append(StatementEntry(cycle: cycle, href: "/v1/statements/\(cycle)", bytes: size))
        }
        entries.sort { $0.cycle < $1.cycle }
        return JSON.response(StatementList(statements: entries))
    }
}
