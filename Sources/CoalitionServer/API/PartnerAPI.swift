import CoalitionFiles
import CoalitionKit
import Foundation

/// The partner API under `/v1` (`docs/api.md`): a partner's system delivers settlement files
/// and fetches its acknowledgements and statements, every request signed.
///
/// I/O threads call it concurrently. Writes go through the `LedgerWriter` and are answered
/// once durable; reads of signed files come straight from `outbox/` and never wait behind
/// the writer.
package final class PartnerAPI: HTTPResponder {
    /// Where the data directory keeps what the API reads and writes.
    struct Folders: Sendable {
        let outbox: String
        let archive: String
        let rejected: String
        /// Where uploads are spooled: inside the data directory, so an accepted upload is
        /// filed under `archive/` by a hard link and a rename, never a copy.
        let spool: String
    }

    /// The largest settlement file taken (413 beyond), in bytes.
    package let maximumUploadBytes: Int64
    /// The largest body of any other request (413 beyond), in bytes.
    package static let maximumBodyBytes = 64 << 10

    let writer: LedgerWriter
    let authenticator: RequestAuthenticator
    let folders: Folders
    let now: @Sendable () -> Timestamp

    /// The API over the data directory at `dataDirectory`, writing through `writer`.
    /// Loads every partner's key ring from `keys/` now: a rotated key is served after a
    /// restart, as the network definition is. Creates `spool/` if it is missing.
    package init(
        writer: LedgerWriter,
        dataDirectory: String,
        maximumUploadBytes: Int64 = 1 << 30,
        now: @escaping @Sendable () -> Timestamp
    ) throws {
        func path(_ name: String) -> String { (dataDirectory as NSString).appendingPathComponent(name) }
        var rings: [PartnerID: KeyRing] = [:]
        for partner in writer.network.sortedPartners {
            rings[partner.id] = try KeyRing.load(partner, directory: path("keys"))
        }
        folders = Folders(
            outbox: path("outbox"),
            archive: path("archive"),
            rejected: path("rejected"),
            spool: path("spool")
        )
        do {
            try FileManager.default.createDirectory(atPath: folders.spool, withIntermediateDirectories: true)
        } catch {
            throw CoalitionError(.io, "cannot make the upload spool folder", at: Place(file: folders.spool))
        }
        self.writer = writer
        self.maximumUploadBytes = maximumUploadBytes
        self.now = now
        authenticator = RequestAuthenticator(rings: rings, now: now)
    }

    package func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy {
        // Only a delivery whose signature fields are in order is spooled; anything else is
        // small, so an unsigned or stale upload never fills the disk.
        guard let matched = try? Route.match(method: head.method, path: head.path),
            matched.0.endpoint == .deliverSettlementFile, (try? authenticator.claims(head)) != nil
        else { return .inMemory(maximum: PartnerAPI.maximumBodyBytes) }
        return .spooled(directory: folders.spool, maximum: maximumUploadBytes)
    }

    package func respond(to request: HTTPRequest) -> HTTPResponse {
        do {
            let (route, parameters) = try Route.match(method: request.head.method, path: request.head.path)
            let partner = try authenticator.authenticate(request)
            switch route.endpoint {
            case .deliverSettlementFile:
                return try deliver(request.body, from: partner)
            case .acknowledgement:
                return try acknowledgement(try Route.number(parameters["sequence"]), of: partner)
            case .statements:
                return statements(of: partner)
            case .statement:
                return try statement(try Route.number(parameters["cycle"]), of: partner)
            case .submitRecord:
                let response: HTTPResponse
                do {
                    response = try submitRecord(request, from: partner)
                } catch {
                    response = APIError.from(error).response
                }
                return signed(response, answering: request, for: partner)
            case .member:
                return try balance(of: parameters["number"], for: partner)
            }
        } catch {
            return APIError.from(error).response
        }
    }

    /// A signed file from `outbox/`, as it is on disk.
    static func signedFile(_ path: String, status: Int = 200, headers: [(String, String)] = []) -> HTTPResponse {
        var fields = HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")])
        for (name, value) in headers { fields.add(name, value) }
        return HTTPResponse(status: status, headers: fields, body: .file(path: path))
    }
}
