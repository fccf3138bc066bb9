import CoalitionKit

/// The version `coalition --version` prints.
enum CoalitionVersion {
    static let current = "0.5.0"
}
