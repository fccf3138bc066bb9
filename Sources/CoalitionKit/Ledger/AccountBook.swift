/// The accounts (other than members') the engine has named, numbered in the order they were
/// first named. Planned legs carry the number: they are merged and balanced by it, and an
/// account's name is written out only into a posting's legs text, from bytes made once.
///
/// The numbers belong to this process and are never stored; the journal and the tables keep
/// the names.
struct AccountBook {
    /// `Account.<kind>(partner)` names of one partner, numbered.
    struct PartnerAccounts {
        let issuer: Int32
        let breakage: Int32
        let reported: Int32
        let converted: Int32
        let rounding: Int32
        /// Money due to the partner in its settlement currency.
        let receivable: Int32
    }

    private(set) var keys: [AccountKey] = []
    /// `account unit`, the leg's text but its amount.
    private var texts: [[UInt8]] = []
    /// False for an account named like a member's: members' points are their lots, and the
    /// book keeps no balance for them.
    private var balanced: [Bool] = []
    private var numbers: [AccountKey: Int32] = [:]
    /// The unit of each account, numbered: 0 is points, every member's unit.
    private var units: [Int32] = []
    private var unitNumbers: [String: Int32] = [Account.points: 0]
    private var unitNames: [String] = [Account.points]
    private var partners = PartnerMap<PartnerAccounts>()
    private var issuers = PartnerMap<Int32>()
    private var breakages = PartnerMap<Int32>()
    /// `payable:<partner>` by partner and currency.
    private var payables: [PayableKey: Int32] = [:]

    private struct PayableKey: Hashable {
        let partner: PartnerID
        let currency: String
    }

    /// The number of `key`, given when first asked for.
    mutating func number(_ key: AccountKey) -> Int32 {
        if let number = numbers[key] { return number }
        let number = Int32(keys.count)
        keys.append(key)
        texts.append(Array("\(key.account) \(key.unit)".utf8))
        balanced.append(!key.account.hasPrefix("member:"))
        if let unit = unitNumbers[key.unit] {
            units.append(unit)
        } else {
            let unit = Int32(unitNames.count)
            unitNames.append(key.unit)
            unitNumbers[key.unit] = unit
            units.append(unit)
        }
        numbers[key] = number
        return number
    }

    /// The number of the unit `account` is kept in (0: points).
    func unit(of account: LegAccount) -> Int32 {
        switch account {
        case .member: 0
        case .booked(let number): units[Int(number)]
        }
    }

    /// The name of unit `number`.
    func unitName(_ number: Int32) -> String { unitNames[Int(number)] }

    mutating func number(_ account: String, _ unit: String) -> Int32 { number(AccountKey(account, unit)) }

    /// The accounts of `partner` that its own records move.
    mutating func accounts(of partner: Partner) -> PartnerAccounts {
        if let accounts = partners[partner.id] { return accounts }
        let unit = Account.unit(of: partner)
        let accounts = PartnerAccounts(
            issuer: issuer(partner.id),
            breakage: breakage(partner.id),
            reported: number(Account.reported(partner.id), unit),
            converted: number(Account.converted(partner.id), unit),
            rounding: number(Account.rounding(partner.id), unit),
            receivable: number(Account.receivable(partner.id), partner.settlementCurrency.code)
        )
        partners[partner.id] = accounts
        return accounts
    }

    /// `Account.issuer(id)` in points.
    mutating func issuer(_ id: PartnerID) -> Int32 {
        if let number = issuers[id] { return number }
        let number = number(Account.issuer(id), Account.points)
        issuers[id] = number
        return number
    }

    /// `Account.breakage(id)` in points.
    mutating func breakage(_ id: PartnerID) -> Int32 {
        if let number = breakages[id] { return number }
        let number = number(Account.breakage(id), Account.points)
        breakages[id] = number
        return number
    }

    /// `Account.payable(id)` in `currency`.
    mutating func payable(_ id: PartnerID, _ currency: Currency) -> Int32 {
        let key = PayableKey(partner: id, currency: currency.code)
        if let number = payables[key] { return number }
        let number = number(Account.payable(id), currency.code)
        payables[key] = number
        return number
    }

    /// Whether postings keep a balance of account `number`.
    func isBalanced(_ number: Int32) -> Bool { balanced[Int(number)] }

    /// The planned form of `leg`, named as the engine's own legs name it.
    mutating func planned(_ leg: Leg) -> PlannedLeg {
        if leg.unit == Account.points, leg.account.hasPrefix("member:"),
            let value = UInt64(leg.account.dropFirst(7)),
            case let number = MemberNumber(lookingUp: Int64(bitPattern: value)),
            Account.member(number) == leg.account
        {
            return PlannedLeg(account: .member(number), amount: leg.amount)
        }
        return PlannedLeg(account: .booked(number(leg.account, leg.unit)), amount: leg.amount)
    }

    /// Appends `account unit` of account `number` to `bytes`.
    func appendText(of number: Int32, to bytes: inout CanonicalBytes) {
        texts[Int(number)].withUnsafeBytes { bytes.append(bytes: $0) }
    }
}

/// The account a planned leg moves: a member's points, or an account of the book.
enum LegAccount: Equatable {
    case member(MemberNumber)
    case booked(Int32)
}

/// One leg of an effect being planned.
struct PlannedLeg {
    let account: LegAccount
    var amount: Int64
}

/// The balances of booked accounts as one chunk's postings set them. Each account is read
/// from the ledger's state the first time the chunk moves it, and the chunk's last balances
/// are set in the state and the write once, when the chunk is done (`flush`): no account
/// name is hashed for a posting.
struct ChunkBalances {
    private var values: [Int64] = []
    private var held: [Bool] = []
    /// The accounts moved, in the order first moved.
    private var moved: [Int32] = []

    /// The balance of `number` as the chunk stands; read from `state` the first time.
    mutating func balance(of number: Int32, book: borrowing AccountBook, state: borrowing LedgerSnapshot) -> Int64 {
        let index = Int(number)
        if index >= held.count {
            values.append(contentsOf: repeatElement(0, count: index + 1 - held.count))
            held.append(contentsOf: repeatElement(false, count: index + 1 - held.count))
        }
        if !held[index] {
            held[index] = true
            values[index] = state.accounts[book.keys[index]] ?? 0
            moved.append(number)
        }
        return values[index]
    }

    /// Sets the balance of `number`, read by `balance(of:)` before.
    mutating func set(_ number: Int32, _ value: Int64) { values[Int(number)] = value }

    /// Sets every moved account's balance in `state` and `write`.
    func flush(book: borrowing AccountBook, state: inout LedgerSnapshot, write: inout LedgerWrite) {
        for number in moved {
            let key = book.keys[Int(number)]
            state.accounts[key] = values[Int(number)]
            write.accounts[key] = values[Int(number)]
        }
    }
}

extension CanonicalBytes {
    mutating func append(literal text: StaticString) {
        text.withUTF8Buffer { append(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// `account unit amount` triples joined by `;`, as `append(_: [Leg])` writes the same
    /// legs named in full.
    mutating func append(_ legs: [PlannedLeg], book: borrowing AccountBook) {
        for (index, leg) in legs.enumerated() {
            if index > 0 { append(separator: 59) }  // ";"
            switch leg.account {
            case .member(let number):
                append(literal: "member:")  // Account.member(number), in points
                append(number.value)
                append(literal: " PTS")
            case .booked(let number):
                book.appendText(of: number, to: &self)
            }
            append(separator: 32)
            append(leg.amount)
        }
    }
}
