import CoalitionKit
import Testing

/// Runs `body` and returns the `CoalitionError` it throws; records an issue if it throws
/// nothing or something else.
@discardableResult
package func expectError<T>(
    _ code: ReasonCode,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> T
) -> CoalitionError? {
    do {
        let value = try body()
        Issue.record("expected \(code), got a value: \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as CoalitionError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
