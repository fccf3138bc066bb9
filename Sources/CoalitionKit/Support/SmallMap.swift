/// A map for a handful of entries, kept in one array and searched linearly: what a single
/// record's effect touches (one or two members, a few lots), without a hash table's
/// allocation and hashing on the hot path.
struct SmallMap<Key: Equatable, Value>: Sequence {
    private var entries: [(key: Key, value: Value)] = []

    /// No storage until the first entry: most records' effects leave one of their maps empty.
    init() {}

    subscript(key: Key) -> Value? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                if entries.isEmpty { entries.reserveCapacity(4) }
                entries.append((key, newValue))
            }
        }
    }

    var isEmpty: Bool { entries.isEmpty }

    func makeIterator() -> IndexingIterator<[(key: Key, value: Value)]> { entries.makeIterator() }
}
