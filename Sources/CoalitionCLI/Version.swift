import CoalitionKit

/// The version `coalition --version` prints.
enum CoalitionVersion {
    static let current = "0.5.0"
}

extension ReasonCode {
    /// A failure inside the command that is not a `CoalitionError` (exit 4).
    static let internalFailure: ReasonCode = "INTERNAL"
}
