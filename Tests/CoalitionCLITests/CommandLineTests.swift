import CoalitionGeneration
import CoalitionKit
import Foundation
import Testing

/// The command line as a newcomer meets it: help wherever it is asked, the version, a
/// suggestion for every typo, and `--json` honoured or refused with a JSON error.
@Suite("coalition: help, suggestions and --json, end to end")
struct CommandLineTests {
    /// Every command's words, as `coalition --help` lists them.
    func commandPaths(_ cli: SettlementCommandRunner) throws -> [[String]] {
        let help = try cli.run(["--help"])
        #expect(help.status == 0, "\(help)")
        let lines = help.stdout.split(separator: "\n").drop { $0 != "commands:" }.dropFirst()
        let paths = lines.prefix { $0.hasPrefix("  ") }.map { line in
            // A name is one or two words, then at least two spaces, then the summary.
            let name = line.dropFirst(2).components(separatedBy: "  ")[0]
            return name.split(separator: " ").map(String.init)
        }
        #expect(paths.count > 20, "\(help)")
        return paths
    }

    /// The JSON object on standard output.
    func object(_ result: SettlementCommandRunner.Result) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any]
    }

    @Test("every command and subcommand answers -h and --help anywhere, and `help COMMAND…`, the same way")
    func helpEverywhere() throws {
        let cli = try SettlementCommandRunner()
        for path in try commandPaths(cli) {
            let usage = "usage: coalition \(path.joined(separator: " "))"
            let asked = [
                path + ["--help"], path + ["-h"], ["help"] + path, ["-h"] + path,
                path + ["7", "--data", "elsewhere", "-h"],
            ]
            var answers: Set<String> = []
            for words in asked {
                let result = try cli.run(words)
                #expect(result.status == 0, "\(words): \(result)")
                #expect(result.stdout.contains(usage), "\(words): \(result)")
                #expect(result.stderr == "", "\(words): \(result)")
                answers.insert(result.stdout)
            }
            #expect(answers.count == 1, "\(path): the same help however it is asked")
        }
        for group in ["member", "cycle", "report", "keys", "partners"] {
            for words in [["help", group], [group, "--help"], [group, "-h"]] {
                let result = try cli.run(words)
                #expect(result.status == 0, "\(words): \(result)")
                #expect(result.stdout.contains("\(group) "), "\(words): \(result)")
                #expect(result.stdout.contains("subcommands:"), "\(words): \(result)")
            }
        }
        let memberShow = try cli.run(["member", "show", "-h"])
        #expect(memberShow.stdout.contains("usage: coalition member show NUMBER"), "\(memberShow)")
        #expect(!memberShow.stderr.contains("BAD_MEMBER_NUMBER"), "\(memberShow)")
        // Nothing ran: no data directory was made.
        #expect(!FileManager.default.fileExists(atPath: cli.directory + "/coalition-data"))
    }

    @Test("--version prints the version and the settlement format")
    func version() throws {
        let cli = try SettlementCommandRunner()
        let result = try cli.run(["--version"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.hasPrefix("coalition "), "\(result)")
        #expect(result.stdout.contains("settlement format \(SettlementFormat.version)"), "\(result)")
        let json = try cli.run(["--version", "--json"])
        #expect(object(json)?["settlementFormat"] as? Int == SettlementFormat.version, "\(json)")
        #expect(object(json)?["version"] as? String == result.stdout.split(separator: " ")[1].description, "\(json)")
        let help = try cli.run(["member", "show", "--help", "--json"])
        #expect(object(help)?["topic"] as? String == "member show", "\(help)")
        #expect((object(help)?["help"] as? String)?.contains("usage: coalition member show NUMBER") == true, "\(help)")
    }

    @Test(
        "a mistyped command, subcommand, option or help topic gets a suggestion",
        arguments: [
            (["memebr", "show", "1"], "Did you mean member?"),
            (["member", "shwo", "1"], "Did you mean member show?"),
            (["audti"], "Did you mean audit?"),
            (["audit", "--jsn"], "Did you mean --json?"),
            (["cycle", "close", "--thruogh", "2026-11-10"], "Did you mean --through?"),
            (["help", "reprot"], "Did you mean report?"),
        ]
    )
    func suggestions(words: [String], hint: String) throws {
        let cli = try SettlementCommandRunner()
        let result = try cli.run(words)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains(hint), "\(result)")
        // Far from everything, nothing is suggested.
        let far = try cli.run(["xyzzyplugh"])
        #expect(far.status == 2)
        #expect(!far.stderr.contains("Did you mean"), "\(far)")
    }

    @Test("a partner id in the wrong case or mistyped is UNKNOWN_PARTNER with the partner meant")
    func partnerSuggestion() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        let lower = try cli.coalition("partners", "show", "skyways")
        #expect(lower.status == 3, "\(lower)")
        #expect(lower.stderr.contains("UNKNOWN_PARTNER"), "\(lower)")
        #expect(lower.stderr.contains("Did you mean SKYWAYS?"), "\(lower)")
        let typo = try cli.coalition("partners", "show", "HARBR")
        #expect(typo.stderr.contains("Did you mean HARBOR?"), "\(typo)")
        let rejected = try cli.coalition("report", "rejected", "--partner", "marketplace")
        #expect(rejected.stderr.contains("Did you mean MARKETPLACE?"), "\(rejected)")
        let shown = try cli.coalition("partners", "show", "SKYWAYS")
        #expect(shown.status == 0, "\(shown)")
    }

    @Test("--json on every command prints one JSON object on standard output, a result or an error")
    func jsonEverywhere() throws {
        let cli = try SettlementCommandRunner()
        for path in try commandPaths(cli) where path != ["bench"] && path != ["seed"] {
            // No data directory here: each command answers, or fails, as JSON.
            let result = try cli.run(path + ["--json", "--data", cli.directory + "/none"])
            let json = try #require(object(result), "\(path): \(result)")
            if result.status != 0 {
                #expect(json["ok"] as? Bool == false, "\(path): \(result)")
                #expect((json["code"] as? String)?.isEmpty == false, "\(path): \(result)")
                #expect(json["message"] is String, "\(path): \(result)")
                #expect(json["place"] is [String: Any], "\(path): \(result)")
                #expect(json["exitCode"] as? Int == Int(result.status), "\(path): \(result)")
            }
        }
        let demo = try cli.run(["demo", "--json", "--data", cli.data])
        #expect(demo.status == 2, "\(demo)")
        #expect(object(demo)?["code"] as? String == "USAGE", "\(demo)")
        #expect(!FileManager.default.fileExists(atPath: cli.data), "a refused command does nothing")

        let number = ActivityGenerator.memberNumber(7).description
        let missing = try cli.run(["member", "show", number, "--json", "--data", cli.directory + "/none"])
        #expect(missing.status == 3, "\(missing)")
        let error = try #require(object(missing), "\(missing)")
        #expect(error["code"] as? String == "NO_LEDGER")
        #expect((error["place"] as? [String: Any])?["file"] as? String == cli.directory + "/none")
    }

    @Test("report --html --json prints where the page is, as JSON")
    func htmlAsJSON() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        for kind in ["positions", "liability"] {
            let result = try cli.coalition("report", kind, "--html", "--json")
            #expect(result.status == 0, "\(result)")
            let page = try #require(object(result)?["page"] as? String, "\(result)")
            #expect(page == cli.data + "/reports/\(kind).html")
            #expect(FileManager.default.fileExists(atPath: page))
        }
    }
}
