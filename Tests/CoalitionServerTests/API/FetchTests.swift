import CoalitionFiles
import CoalitionKit
import CoalitionServer
import CoalitionTestSupport
import Foundation
import Testing

@Suite("Fetching acknowledgements and statements, and the route table")
struct FetchTests {
    @Test func anAcknowledgementIsFetchedByItsBatchNumber() throws {
        let sandbox = try APISandbox()
        let delivered = try sandbox.deliver(
            try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        )
        let fetched = try sandbox.get("/v1/acknowledgements/1")
        #expect(fetched.status == 200)
        #expect(fetched.headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(bodyBytes(fetched) == bodyBytes(delivered))
        #expect(try sandbox.get("/v1/acknowledgements/2").status == 404)
    }

    /// A partner's batch 1 and another's are different resources: each sees its own only.
    @Test func aPartnerSeesOnlyItsOwnAcknowledgements() throws {
        let sandbox = try APISandbox()
        _ = try sandbox.deliver(
            try sandbox.settlementFile("HARBOR", sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "HB")),
            as: "HARBOR"
        )
        #expect(try sandbox.get("/v1/acknowledgements/1", as: "HARBOR").status == 200)
        let other = try sandbox.get("/v1/acknowledgements/1", as: "SKYWAYS")
        #expect(other.status == 404)
        #expect(try errorBody(other).code == "NOT_FOUND")
    }

    @Test(arguments: [
        "/v1/acknowledgements/0", "/v1/acknowledgements/01", "/v1/acknowledgements/x",
        "/v1/acknowledgements/1234567890123456789", "/v1/acknowledgements/", "/v1/nothing", "/v2/statements",
        "/v1/statements/", "/",
    ])
    func anUnknownResourceIs404(target: String) throws {
        let sandbox = try APISandbox()
        let response = try sandbox.get(target)
        #expect(response.status == 404)
        #expect(try errorBody(response).code == "NOT_FOUND")
    }

    @Test(arguments: [
        ("DELETE", "/v1/statements", "GET"), ("GET", "/v1/settlement-files", "POST"),
        ("POST", "/v1/acknowledgements/1", "GET"), ("get", "/v1/statements", "GET"),
    ])
    func anUnknownMethodIs405(method: String, target: String, allowed: String) throws {
        let sandbox = try APISandbox()
        let request = try sandbox.signer().request(method: method, target: target, at: APITime.now)
        let response = sandbox.api.respond(to: request)
        #expect(response.status == 405)
        #expect(response.headers["Allow"] == allowed)
        #expect(try errorBody(response).code == "METHOD_NOT_ALLOWED")
    }

    @Test func statementsAreListedAndFetchedByCycle() throws {
        let sandbox = try APISandbox()
        #expect(bodyBytes(try sandbox.get("/v1/statements")) == Array("{\"statements\":[]}".utf8))
        _ = try sandbox.deliver(
            try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        )
        let root = sandbox.root
        try sandbox.writer.perform { ledger in
            guard case .closed(let cycle) = try CycleCloser.close(ledger, through: APITime.now, now: APITime.now) else {
                throw CoalitionError(.usage, "no cycle closed")
            }
            for partner in ledger.network.sortedPartners {
                let ring = try KeyRing.load(partner, directory: root + "/keys")
                let path = root + "/outbox/" + Statement.fileName(for: partner.id, cycle: cycle.number)
                try Statement.write(for: partner.id, cycle: cycle, ring: ring, to: path)
            }
        }
        let list = try JSONDecoder().decode(
            PartnerAPI.StatementList.self,
            from: Data(bodyBytes(try sandbox.get("/v1/statements")))
        )
        let onDisk = sandbox.outbox("SKYWAYS-cycle-000001.stmt")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: onDisk)[.size] as? Int64)
        #expect(list.statements == [PartnerAPI.StatementEntry(cycle: 1, href: "/v1/statements/1", bytes: size)])
        let statement = try sandbox.get("/v1/statements/1")
        #expect(statement.status == 200)
        #expect(bodyBytes(statement) == Array(FileManager.default.contents(atPath: onDisk) ?? Data()))
        #expect(
            String(decoding: bodyBytes(statement), as: UTF8.self).hasPrefix("H|COALITION-STATEMENT|1|C2P|SKYWAYS|1|")
        )
        #expect(try sandbox.get("/v1/statements/2").status == 404)
        // HARBOR's own statement of the same cycle is HARBOR's, and names HARBOR.
        let harbor = try sandbox.get("/v1/statements/1", as: "HARBOR")
        #expect(String(decoding: bodyBytes(harbor), as: UTF8.self).hasPrefix("H|COALITION-STATEMENT|1|C2P|HARBOR|1|"))
    }
}
