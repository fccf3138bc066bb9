import CoalitionFiles
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

/// The Kit tests' own fixtures, beside the shared ones (`CoalitionTestSupport`).
extension Fixtures {
    static let skyways = try! PartnerID("SKYWAYS")
    static let harbor = try! PartnerID("HARBOR")
    static let marketplace = try! PartnerID("MARKETPLACE")
    static let roadrunner = try! PartnerID("ROADRUNNER")

    static func member(_ index: Int) -> MemberNumber { try! MemberNumber.withCheckDigit(700_000_000 + UInt64(index)) }
}
