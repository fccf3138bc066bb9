/// Member numbers as logs and shared screens show them: all but the last four characters
/// hidden, so a line identifies a member to someone who already knows the number, and to no
/// one else (`docs/operations.md`).
package enum MemberMask {
    /// `600100000011` is `********0011`; four characters or fewer are hidden whole.
    package static func masked(_ number: String) -> String {
        let count = number.count
        guard count > 4 else { return String(repeating: "*", count: count) }
        return String(repeating: "*", count: count - 4) + number.suffix(4)
    }
}
