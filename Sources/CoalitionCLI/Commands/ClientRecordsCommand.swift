import CoalitionKit
import CoalitionServer
import Foundation
import Synchronization

/// `coalition client records`: a partner's point of sale sending signed single records to a
/// server (`POST /v1/records`), and optionally a settlement file first, logging what each
/// was answered. The crash harness drives `coalition serve` with it (docs/reliability.md).
struct ClientRecordsCommand: Command {
    static let path = ["client", "records"]
    static let summary = "send signed EARN records (and a settlement file) to a server; one line per answer"
    static let synopsis = "--url URL --partner ID --key KEYFILE --members FILE"
    static let options: [OptionSpec] =
        [
            .value("url", "URL", "the server: http://127.0.0.1:PORT (plain, loopback) or https://HOST:PORT"),
            .value("trust", "PEM", "for https: the certificate to trust (the server's demo certificate)"),
            .value("partner", "ID", "the partner sending"),
            .value("members", "FILE", "member numbers, one a line: record i earns for member i mod their count"),
            .value("count", "N", "records to send (default 100)"),
            .value("prefix", "TEXT", "record ids are TEXT-000001 … (default CR)"),
            .value("connections", "C", "keep-alive connections, each sending in turn (default 1)"),
            .value("file", "PATH", "a signed settlement file of the partner to deliver before the records"),
            .value("at", "TIME", "the records' occurredAt (default now)"),
        ] + GivenKey.options
    static let acceptsJSON = false
    static let discussion = """
        Record i (from 1) is an EARN of 100 + (37 × i mod 900) units for the member on line
        ((i − 1) mod M) + 1 of --members, with the id PREFIX-NNNNNN, so the same command sends
        the same records every time: run again after a lost answer or a server's crash, it
        replays what was applied (200 `replayed`) and applies the rest. The records of one
        member always go over the same connection (member index mod C), in order, so what a
        member ends with does not depend on how the connections interleave.
        Prints `file STATUS BATCH-STATUS` for --file, then `RECORD-ID STATUS RECORD-STATUS`
        for each record answered (STATUS the HTTP status), sorted by record id. A connection
        that fails (the server went away) stops its sender; the records it did not send are
        not printed. Exit 0 if every record and the file were answered 2xx, 1 if not.
        """

    /// One record's answer: the HTTP status and `Coalition-Record-Status`.
    struct Answer: Sendable {
        let index: Int
        let status: Int
        let recordStatus: String
    }

    /// The answers so far, from every sender thread.
    final class Answers: Sendable {
        private let list = Mutex<[Answer]>([])

        func append(_ answer: Answer) { list.withLock { $0.append(answer) } }

        var all: [Answer] { list.withLock { $0 } }
    }

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let arguments = context.arguments
        func required(_ name: String) throws -> String {
            guard let value = arguments.value(name) else {
                throw CoalitionError(.usage, "--\(name) is required\nusage: \(usage)")
            }
            return value
        }
        let (host, port, tls) = try endpoint(try required("url"), trust: arguments.value("trust"))
        let partner = try PartnerID(try required("partner"))
        let key = try GivenKey(context, path: try required("key"))
        let members = try memberNumbers(try required("members"))
        let count = try arguments.integer("count", default: 100, in: 1...1_000_000)
        let connections = try arguments.integer("connections", default: 1, in: 1...64)
        let prefix = arguments.value("prefix") ?? "CR"
        let at = try arguments.value("at").map { try Timestamp(parsing: $0) } ?? Clock.now
        let signer = RequestSigner(partner: partner, keyID: key.id, secret: key.secret)

        var complete = true
        if let file = arguments.value("file") {
            let length = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
            let answer = try PartnerClient(
                signer: signer,
                http: try HTTPSClient(host: host, port: port, trusting: tls)
            ) { Clock.now }.deliver(settlementFile: file, length: length)
            Output.line("file \(answer.status) \(answer.headers["Coalition-Batch-Status"] ?? "-")")
            guard (200..<300).contains(answer.status) else { return .rejected }
        }
        let answers = Answers()
        let senders = DispatchGroup()
        for connection in 0..<connections {
            let mine = (1...count).filter { ((($0 - 1) % members.count) % connections) == connection }
            guard !mine.isEmpty else { continue }
            senders.enter()
            Thread {
                defer { senders.leave() }
                guard let http = try? HTTPSClient(host: host, port: port, trusting: tls) else { return }
                let sender = PartnerClient(signer: signer, http: http) { Clock.now }
                for index in mine {
                    let body = record(index, prefix: prefix, member: members[(index - 1) % members.count], at: at)
                    guard
                        let answer = try? sender.send(
                            "POST",
                            "/v1/records",
                            body: body,
                            fields: [("Content-Type", "application/json")]
                        )
                    else { return }
                    let recordStatus = answer.headers["Coalition-Record-Status"] ?? "-"
                    answers.append(Answer(index: index, status: answer.status, recordStatus: recordStatus))
                }
            }
            .start()
        }
        senders.wait()
        let answered = answers.all.sorted { $0.index < $1.index }
        for answer in answered {
            Output.line("\(recordID(answer.index, prefix: prefix)) \(answer.status) \(answer.recordStatus)")
            if !(200..<300).contains(answer.status) { complete = false }
        }
        return complete && answered.count == count ? .success : .rejected
    }

    static func recordID(_ index: Int, prefix: String) -> String {
        let digits = String(index)
        return prefix + "-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The JSON of record `index`: keys sorted, as docs/api.md shows them.
    static func record(_ index: Int, prefix: String, member: String, at: Timestamp) -> [UInt8] {
        let units = 100 + (37 * index) % 900
        return Array(
            ("{\"member\":\"\(member)\",\"occurredAt\":\"\(at)\",\"recordId\":\"\(recordID(index, prefix: prefix))\","
                + "\"type\":\"EARN\",\"units\":\(units)}").utf8
        )
    }

    static func memberNumbers(_ path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CoalitionError(.io, "cannot read the member numbers", at: Place(file: path))
        }
        let numbers = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !numbers.isEmpty, numbers.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else {
            throw CoalitionError(.usage, "--members names a file of member numbers, one a line", at: Place(file: path))
        }
        return numbers
    }

    /// Host, port and the certificate to trust (nil: plain HTTP) of `http[s]://HOST:PORT`.
    static func endpoint(_ url: String, trust: String?) throws -> (String, Int, String?) {
        let usage = CoalitionError(.usage, "--url takes http://HOST:PORT or https://HOST:PORT, not \(url)")
        let isTLS = url.hasPrefix("https://")
        guard isTLS || url.hasPrefix("http://") else { throw usage }
        let rest = String(url.dropFirst(isTLS ? 8 : 7)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let (host, port) = try ServeCommand.listenAddress(rest)
        if isTLS, trust == nil { throw CoalitionError(.usage, "an https --url needs --trust PEM") }
        return (host, port, isTLS ? trust : nil)
    }
}
