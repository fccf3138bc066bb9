import CoalitionKit
import CoalitionServer
import Foundation
import Testing

@Suite("docs/api.md's signed answer: the test vector is what the server makes")
struct ResponseSignatureDocumentTests {
    @Test func theSingleRecordExampleIsWhatTheSignersMake() throws {
        let key = try #require(Hex.decode(try APIDocumentTests.block("api-demo-key").utf8))
        let body = Array(try APIDocumentTests.block("api-record-body").utf8)
        let signer = RequestSigner(partner: try PartnerID("SKYWAYS"), keyID: "SKYWAYS-2026A", secret: key)
        let request = try signer.request(
            method: "POST",
            target: "/v1/records",
            body: .bytes(body),
            at: APITime.at("2026-11-22T10:15:00Z")
        )
        let requestSignature = try APIDocumentTests.block("api-record-signature")
        #expect(request.head.headers["Coalition-Signature"] == requestSignature)
        let answer = ResponseSignature(
            status: 422,
            method: "POST",
            target: "/v1/records",
            timestamp: APITime.at("2026-11-22T10:15:01Z"),
            partner: try PartnerID("SKYWAYS"),
            keyID: "SKYWAYS-2026A",
            requestSignature: requestSignature,
            bodyDigest: SHA256.hash(Array(try APIDocumentTests.block("api-response-body").utf8))
        )
        #expect(answer.string == (try APIDocumentTests.block("api-response-canonical")))
        #expect(Hex.encode(try answer.signature(using: key)) == (try APIDocumentTests.block("api-response-signature")))
    }
}
