import CoalitionKit

/// "Did you mean …?" for a mistyped command, option or partner id.
enum Suggestion {
    /// The candidate closest to `word` by edit distance (case ignored), if it is close enough
    /// to be a typo: at most one edit in four characters, and at least one.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let target = Array(word.lowercased())
        let limit = max(1, target.count / 4 + (target.count >= 6 ? 1 : 0))
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(target, Array(candidate.lowercased()))
            if distance <= limit, distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
        }
        return best?.0
    }

    /// `" Did you mean X?"`, or nothing.
    static func phrase(for word: String, among candidates: [String], prefix: String = "") -> String {
        closest(to: word, among: candidates).map { " Did you mean \(prefix)\($0)?" } ?? ""
    }

    /// Edit distance counting an insertion, a deletion, a substitution or a swap of two
    /// neighbours as one edit (optimal string alignment): `shwo` is one edit from `show`.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}

extension Network {
    /// The partner `text` names; an unknown or mistyped id is `UNKNOWN_PARTNER` with the
    /// partner meant when it is clear (`skyways` → `SKYWAYS`, `HARBR` → `HARBOR`).
    func partner(named text: String) throws -> Partner {
        if let id = try? PartnerID(text), let partner = try? partner(id) { return partner }
        let ids = sortedPartners.map(\.id.rawValue)
        let hint =
            ids.first { $0 == text.uppercased() }.map { " Did you mean \($0)? (partner ids are upper case)" }
            ?? Suggestion.phrase(for: text, among: ids)
        throw CoalitionError(.unknownPartner, "no partner '\(text)' in the network.\(hint)")
    }
}
