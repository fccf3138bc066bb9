import CoalitionTestSupport
import Testing

@testable import CoalitionKit

@Suite("AccountBook: planned legs name accounts by number and write the same text")
struct AccountBookTests {
    @Test("generated legs, planned and written through the book, are the text their names make")
    func sameText() throws {
        var random = SeededGenerator(seed: 0xB00C)
        var book = AccountBook()
        let partners = Fixtures.network.sortedPartners
        let members = try (0..<20).map { _ in
            try MemberNumber.withCheckDigit(UInt64.random(in: 1_000_000...999_999_999_999, using: &random))
        }
        func account() -> Leg {
            let partner = partners[Int.random(in: 0..<partners.count, using: &random)]
            let amount = Int64.random(in: -1_000_000_000...1_000_000_000, using: &random)
            switch Int.random(in: 0..<8, using: &random) {
            case 0:
                return Leg(Account.member(members[Int.random(in: 0..<members.count, using: &random)]), "PTS", amount)
            case 1: return Leg(Account.issuer(partner.id), Account.points, amount)
            case 2: return Leg(Account.reported(partner.id), Account.unit(of: partner), amount)
            case 3: return Leg(Account.payable(partner.id), "EUR", amount)
            // Named like a member's, but not as the engine names members: kept by name.
            case 4: return Leg("member:007", "PTS", amount)
            case 5: return Leg(Account.member(members[0]), "EUR", amount)
            case 6: return Leg("member:x", "PTS", amount)
            default: return Leg(Account.breakage(partner.id), Account.points, Int64.min + 1)
            }
        }
        for _ in 0..<500 {
            let legs = (0..<Int.random(in: 0...9, using: &random)).map { _ in account() }
            let planned = legs.map { book.planned($0) }
            var written = CanonicalBytes()
            written.append(planned, book: book)
            #expect(written.text == Posting.encode(legs))
            for (leg, plan) in zip(legs, planned) {
                switch plan.account {
                case .member(let number):
                    #expect(leg.account == Account.member(number) && leg.unit == Account.points)
                case .booked(let number):
                    #expect(book.keys[Int(number)] == AccountKey(leg.account, leg.unit))
                    #expect(book.isBalanced(number) == !leg.account.hasPrefix("member:"))
                }
            }
        }
        // Numbers are given once, whichever way an account is asked for.
        for partner in partners {
            let accounts = book.accounts(of: partner)
            #expect(accounts.issuer == book.number(Account.issuer(partner.id), Account.points))
            #expect(accounts.issuer == book.issuer(partner.id))
            #expect(accounts.breakage == book.breakage(partner.id))
            #expect(accounts.rounding == book.number(Account.rounding(partner.id), Account.unit(of: partner)))
            #expect(
                accounts.receivable == book.number(Account.receivable(partner.id), partner.settlementCurrency.code)
            )
            let euro = try Currency(code: "EUR")
            #expect(book.payable(partner.id, euro) == book.number(Account.payable(partner.id), "EUR"))
        }
        #expect(Set(book.keys).count == book.keys.count)
    }

    @Test("a chunk's balances are read from the state once and set in the state and the write when flushed")
    func chunkBalances() {
        var book = AccountBook()
        let held = book.number("issuer:SKYWAYS", "PTS")
        let new = book.number("rounding:SKYWAYS", "SKYWAYS.MILE")
        var state = LedgerSnapshot()
        state.accounts[AccountKey("issuer:SKYWAYS", "PTS")] = -500
        var balances = ChunkBalances()
        #expect(balances.balance(of: held, book: book, state: state) == -500)
        balances.set(held, -700)
        // Read again: the chunk's own balance, not the state's.
        state.accounts[AccountKey("issuer:SKYWAYS", "PTS")] = 1
        #expect(balances.balance(of: held, book: book, state: state) == -700)
        #expect(balances.balance(of: new, book: book, state: state) == 0)
        balances.set(new, 3)
        var write = LedgerWrite(batchID: 1)
        balances.flush(book: book, state: &state, write: &write)
        #expect(state.accounts[AccountKey("issuer:SKYWAYS", "PTS")] == -700)
        #expect(state.accounts[AccountKey("rounding:SKYWAYS", "SKYWAYS.MILE")] == 3)
        #expect(write.accounts == state.accounts)
    }
}
