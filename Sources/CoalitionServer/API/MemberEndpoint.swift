import CoalitionKit

/// The answer to a balance inquiry (`GET /v1/members/{number}`, `docs/api.md`): what the
/// member can redeem at the calling partner now, and their tier. Nothing in it names or
/// describes another partner.
struct MemberBalance: Encodable, Equatable {
    let member: String
    /// `open`, or `closed` (nothing is spendable).
    let status: String
    let asOf: String
    /// Points spendable now: lots not past their expiry date, whoever issued them.
    let points: Int64
    /// The most units of the partner's unit one `REDEEM` may carry now: ⌊points ÷ rate⌋ at
    /// the partner's rate in force; absent when it has none in force.
    let units: Int64?
    let unit: String
    let tier: String?
}

extension PartnerAPI {
    /// `GET /v1/members/{number}`: the member's balance at `partner`. 404 `NOT_FOUND` for a
    /// number that is not a member number, `UNKNOWN_MEMBER` for one not enrolled.
    func balance(of text: String?, for partner: PartnerID) throws -> HTTPResponse {
        guard let text, text.utf8.allSatisfy({ (48...57).contains($0) }), let number = try? MemberNumber(text)
        else { throw APIError.notFound }
        let now = self.now()
        let account = try writer.perform { ledger in ledger.member(number) }
        guard let account else {
            throw APIError(status: 404, code: .unknownMember, message: "member \(number) is not enrolled")
        }
        let network = writer.network
        let at = try network.partner(partner)
        let points = account.isClosed ? 0 : account.available(at: now)
        let units = try? Rate.unitsFor(points: points, rate: at.earnRate(at: now), rounding: .down)
        let tier = network.tiers.indices.contains(account.tier) ? network.tiers[account.tier].name : nil
        return JSON.response(
            MemberBalance(
                member: number.description,
                status: account.isClosed ? "closed" : "open",
                asOf: now.description,
                points: points,
                units: units,
                unit: at.unit.code,
                tier: tier
            )
        )
    }
}
