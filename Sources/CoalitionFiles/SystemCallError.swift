import CoalitionKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CoalitionError {
    /// `IO_ERROR` for a system call that failed on `path`: the message keeps what could not
    /// be done, the call and errno's number and text, as swift-nio's `IOError` keeps them
    /// (`cannot write the file: write failed: errno 28 (No space left on device)`); the place
    /// names the path. `number` defaults to `errno` read where the error is made, so make it
    /// right after the call.
    package static func io(_ what: String, call: String, path: String, errno number: Int32 = errno) -> CoalitionError {
        CoalitionError(
            .io,
            "\(what): \(call) failed: errno \(number) (\(String(cString: strerror(number))))",
            at: Place(file: path)
        )
    }
}

/// rename(2), named through a function of its own: inside a type with a `rename` method the
/// bare name is the method, and the module that holds the C one differs by platform.
func renameFile(_ from: String, _ to: String) -> Int32 {
    #if canImport(Glibc)
    Glibc.rename(from, to)
    #else
    Darwin.rename(from, to)
    #endif
}

/// write(2), for the same reason as `renameFile`.
func writeBytes(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, bytes, count)
    #else
    Darwin.write(descriptor, bytes, count)
    #endif
}
