/// What an accepted record did beyond its points: the issuer split of a redemption or
/// reversal, the debt an earn reversal left, the obligations it made. A version 2
/// acknowledgement says it record by record.
package struct AppliedDetail {
    /// Points per issuer, signed as the member's balance moved: what a redemption used,
    /// what a reversal gave back or took.
    var split: [IssuerPoints] = []
    var obligations: [Obligation] = []
    /// Points an earn reversal could not take from any lot: the member now owes them to
    /// the reversing partner (a debt, valued when it is repaid). Signed as the member's
    /// balance moved: negative.
    var debt: Int64 = 0

    var isEmpty: Bool { split.isEmpty && obligations.isEmpty && debt == 0 }

    /// The detail of a posting of `kind` with `detail` text, and the obligations it made.
    package static func of(kind: PostingKind, detail text: String, obligations: [Obligation]) -> AppliedDetail? {
        var detail = AppliedDetail(obligations: obligations)
        switch kind {
        case .redeem:
            for part in PostingDetail(text).parts {
                IssuerPoints.add(-part.points, of: part.issuer, to: &detail.split)
            }
        case .reverseRedeem:
            detail.split = PostingDetail(text).split
        case .reverseEarn:
            let parsed = PostingDetail(text)
            detail.split = parsed.split.map { IssuerPoints(issuer: $0.issuer, points: -$0.points) }
            detail.debt = -(parsed.debt ?? 0)
        default:
            break
        }
        return detail.isEmpty ? nil : detail
    }
}
