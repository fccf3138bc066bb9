/// A map keyed by partner id, kept as a sorted array and searched by halving: a network has a
/// handful to a few hundred partners, and the engine looks one up several times a record.
/// A `Dictionary` hashes both words of the id through SipHash each time, about five times
/// the work of the few comparisons here.
struct PartnerMap<Value> {
    private var keys: [PartnerID] = []
    private var values: [Value] = []

    init() {}

    init(_ entries: some Sequence<(PartnerID, Value)>) {
        for (key, value) in entries { self[key] = value }
    }

    /// Where `key` is, or where it would go.
    private func place(of key: PartnerID) -> Int {
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low
    }

    subscript(key: PartnerID) -> Value? {
        get {
            let at = place(of: key)
            return at < keys.count && keys[at] == key ? values[at] : nil
        }
        set {
            let at = place(of: key)
            let found = at < keys.count && keys[at] == key
            switch (found, newValue) {
            case (true, let value?): values[at] = value
            case (true, nil):
                keys.remove(at: at)
                values.remove(at: at)
            case (false, let value?):
                keys.insert(key, at: at)
                values.insert(value, at: at)
            case (false, nil): break
            }
        }
    }

    var count: Int { keys.count }
}

extension PartnerMap: Sendable where Value: Sendable {}
