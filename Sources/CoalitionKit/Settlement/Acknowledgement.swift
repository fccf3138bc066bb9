import Foundation

/// The coalition's signed answer to a settlement file (coalition → partner):
///
/// ```
/// H|COALITION-ACK|1|C2P|<partner>|<batch sequence>|<created-at>|<key id>
/// REF|<the settlement file's signature>
/// A|<record id>|<points>                            one per accepted record, in file order
/// R|<line>|<record id>|<code>|<message>             one per rejected record, in line order
/// T|<records>|<accepted>|<rejected>|<points credited>|<points debited>
/// S|<HMAC-SHA256 of every byte before this line>
/// ```
/// A file rejected whole gets `F|<code>|<line>|<message>` in place of A and R lines.
///
/// Version 2 (for partners whose definition asks for it) adds, after the `A` line of a
/// record:
/// ```
/// I|<record id>|<issuer>|<points>                   the issuer split of a redemption or reversal
/// DEBT|<record id>|<partner owed>|<points>        the debt an earn reversal left (negative)
/// O|<record id>|<debtor>|<creditor>|<points>|<amount>|<currency>   each obligation it made
/// ```
package enum Acknowledgement {
    /// What a version 2 acknowledgement says of an accepted record beyond its points.
    package typealias Detail = AppliedDetail

    /// A record line of the file, in order, as the acknowledgement needs it.
    package enum Item {
        case record(line: Int, recordID: String)
        case fault(line: Int, recordID: String, CoalitionError)
    }

    /// The `A|<record id>|<points>` line of an accepted record, with its LF, built into a
    /// reused buffer: no string is made per record.
    package struct AcceptedLine: ~Copyable {
        private var bytes = CanonicalBytes()

        package init() {}

        package mutating func set(recordID: String, points: Int64) {
            bytes.removeAll()
            bytes.append(literal: "A|")
            bytes.append(recordID)
            bytes.append(separator: 124)
            bytes.append(points)
            bytes.append(separator: SettlementFormat.newline)
        }

        package func withUnsafeBytes<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
            try bytes.withUnsafeBytes { try body($0.assumingMemoryBound(to: UInt8.self)) }
        }
    }
}

extension AppliedDetail {
    /// The `I`, `DEBT` and `O` lines of version 2 for accepted record `recordID` of
    /// `partner`'s file.
    package func lines(of recordID: String, partner: PartnerID) -> [String] {
        var lines = split.map { "I|\(recordID)|\($0.issuer)|\($0.points)" }
        if debt != 0 { lines.append("DEBT|\(recordID)|\(partner)|\(debt)") }
        for o in obligations {
            lines.append("O|\(recordID)|\(o.debtor)|\(o.creditor)|\(o.points)|\(o.amount)|\(o.currency.code)")
        }
        return lines
    }
}
