import CoalitionFiles
import CoalitionKit
import Foundation
import Testing

/// A small history most settlement tests start from: SKYWAYS batch 1 applied (two members
/// enrolled, both with miles), and a small batch 2 ready to send.
enum SettlementScenario {
    static let m1 = SettlementMembers.number(1).description
    static let m2 = SettlementMembers.number(2).description
    static let m3 = SettlementMembers.number(3).description
    static let m4 = SettlementMembers.number(4).description

    static let batchOneBody = [
        "ENROLL|S1-01|\(m1)|2026-11-18T08:00:00Z|web",
        "ENROLL|S1-02|\(m2)|2026-11-18T08:05:00Z|app",
        "EARN|S1-03|\(m1)|4000|2026-11-18T09:00:00Z|PNR AAA111",
        "EARN|S1-04|\(m2)|2000|2026-11-18T09:30:00Z|PNR BBB222",
    ]

    /// Ten records of every type, with escapes, a partial and a full reversal.
    static let batchTwoBody = [
        "ENROLL|S2-01|\(m3)|2026-11-19T08:00:00Z|web signup",
        "EARN|S2-02|\(m3)|2400|2026-11-19T09:30:00Z|PNR Q7X2LM LHR%7CJFK",
        "EARN|S2-03|\(m1)|1501|2026-11-19T10:00:00Z|",
        "REDEEM|S2-04|\(m1)|1001|2026-11-19T18:45:00Z|award seat 12A",
        "REVERSAL|S2-05|S2-02|400|2026-11-19T20:00:00Z|partial refund",
        "EARN|S2-06|\(m2)|800|2026-11-19T20:30:00Z|100%25 bonus",
        "REDEEM|S2-07|\(m2)|300|2026-11-19T21:00:00Z|lounge",
        "REVERSAL|S2-08|S1-04||2026-11-19T21:30:00Z|cancelled",
        "EARN|S2-09|\(m3)|100|2026-11-19T22:00:00Z|",
        "ENROLL|S2-10|\(m4)|2026-11-19T23:00:00Z|caf\u{e9}",
    ]

    /// A sandbox with SKYWAYS batch 1 applied.
    static func afterBatchOne() throws -> SettlementSandbox {
        let sandbox = try SettlementSandbox()
        let path = try sandbox.skywaysFile(sequence: 1, body: batchOneBody, createdAt: "2026-11-18T12:00:00Z")
        let result = try sandbox.ingestAccepted(path)
        #expect(result.summary?.accepted == 4)
        return sandbox
    }

    /// The bytes of batch 2 as SKYWAYS sends it, signed with SKYWAYS-2026A.
    static func batchTwo(_ sandbox: SettlementSandbox) throws -> [UInt8] {
        try SettlementBytes.file(
            header: SettlementBytes.header(sequence: 2),
            body: batchTwoBody.map { Array($0.utf8) },
            key: try sandbox.secret("SKYWAYS-2026A")
        )
    }
}
