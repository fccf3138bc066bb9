import Foundation
import Testing

/// `coalition serve` on a port of the system's choosing (HTTPS with the demo certificate, or
/// plain HTTP when `extra` has `--plain-http`), its output in `output`: the process, and the
/// port once it listens (nil if it never said so).
func startServe(data: String, output: String, extra: [String] = []) throws -> (Process, String?) {
    let executable = try #require(CommandRunner.executable)
    _ = FileManager.default.createFile(atPath: output, contents: nil)
    let process = Process()
    process.executableURL = executable
    process.arguments = ["serve", "--data", data, "--listen", "127.0.0.1:0"] + extra
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    process.standardError = process.standardOutput
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let scheme = extra.contains("--plain-http") ? "http" : "https"
    for _ in 0..<1000 {
        let text = String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self)
        if let range = text.range(of: "listening on \(scheme)://127.0.0.1:") {
            return (process, String(text[range.upperBound...].prefix { $0.isNumber }))
        }
        usleep(10_000)
    }
    return (process, nil)
}
