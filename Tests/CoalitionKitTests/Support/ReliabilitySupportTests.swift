import Foundation
import Testing

@testable import CoalitionFiles
@testable import CoalitionKit

#if canImport(Glibc)
import Glibc
#endif

@Suite("Support for reliability: escaping untrusted text, temporary names, failpoints")
struct ReliabilitySupportTests {
    @Test("every control character is escaped, printable text of any script is kept")
    func escaping() {
        var random = SeededGenerator(seed: 20)
        for _ in 0..<500 {
            var text = ""
            for _ in 0..<Int.random(in: 0..<40, using: &random) {
                let value = UInt32.random(in: 0..<0x2100, using: &random)
                if let scalar = Unicode.Scalar(value) { text.unicodeScalars.append(scalar) }
            }
            let escaped = Untrusted.escaped(text, keepingNewlines: false)
            #expect(!escaped.unicodeScalars.contains { Untrusted.isControl($0, keepingNewlines: false) })
            if !text.unicodeScalars.contains(where: { Untrusted.isControl($0, keepingNewlines: false) }) {
                #expect(escaped == text)
            }
        }
        #expect(Untrusted.escaped("SKY\u{1B}[2J|\u{07}\u{9B}\u{202E}x") == "SKY\\x1B[2J|\\x07\\x9B\\u{202E}x")
        #expect(Untrusted.escaped("two\nlines\tand a tab") == "two\nlines\tand a tab")
        #expect(Untrusted.escaped("two\nlines", keepingNewlines: false) == "two\\x0Alines")
    }

    @Test("a temporary name is hidden and this process's; names of dead writers are abandoned")
    func temporaryNames() {
        let name = TemporaryPath.beside("/data/outbox/SKYWAYS-000001.ack")
        #expect(name == "/data/outbox/.SKYWAYS-000001.ack.\(getpid()).tmp")
        #expect(!TemporaryPath.isAbandoned((name as NSString).lastPathComponent))
        #expect(!TemporaryPath.isAbandoned((name as NSString).lastPathComponent + ".rejected"))
        #expect(TemporaryPath.isAbandoned(".SKYWAYS-000001.ack.2147483000.tmp"))
        #expect(TemporaryPath.isAbandoned("SKYWAYS-000001.ack.tmp"))
        #expect(TemporaryPath.isAbandoned("SKYWAYS-000001.ack.tmp.rejected"))
        #expect(TemporaryPath.isAbandoned("ledger.sqlite-state.2147483000.tmp"))
        #expect(!TemporaryPath.isAbandoned(".SKYWAYS-000001.ack.1.tmp"))  // process 1 runs
        for kept in ["SKYWAYS-000001.ack", "big.csf", "big.csf.1", "tmp", "HARBOR-cycle-000001.stmt", "x.tmpl"] {
            #expect(!TemporaryPath.isAbandoned(kept), "\(kept)")
        }
    }

    @Test("COALITION_FAILPOINT reads NAME[:ACTION][@N]; anything else arms nothing")
    func failpointSyntax() {
        let crash = Failpoint.parse("ingest.after-commit")
        #expect(crash?.name == "ingest.after-commit" && crash?.action == .crash && crash?.at == 1)
        let fail = Failpoint.parse("file.fsync:fail@3")
        #expect(fail?.name == "file.fsync" && fail?.action == .fail && fail?.at == 3)
        for bad in ["", ":fail", "x:explode", "x@0", "x@", "x@-1"] {
            #expect(Failpoint.parse(bad) == nil, "\(bad)")
        }
        // Unarmed in the tests: reaching a point does nothing.
        #expect(throws: Never.self) { try Failpoint.reach("ingest.after-commit") }
    }
}
