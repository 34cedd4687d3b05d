/// A dictionary keyed by the exact Unicode scalars of a string. Swift's `String` equality is canonical
/// equivalence (e.g. U+17C4 equals U+17C1 U+17B8), but token texts must be matched byte for byte as
/// llama.cpp and Hugging Face do.
struct ExactMap<Value: Sendable>: Sendable {
    struct Key: Hashable, Sendable {
        let text: String

        static func == (a: Key, b: Key) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }

        func hash(into hasher: inout Hasher) {
            var text = text
            text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    private var storage: [Key: Value] = [:]

    init() {}

    var count: Int { storage.count }

    mutating func reserveCapacity(_ n: Int) { storage.reserveCapacity(n) }

    subscript(_ text: String) -> Value? {
        get { storage[Key(text: text)] }
        set { storage[Key(text: text)] = newValue }
    }

    mutating func removeAll() { storage.removeAll(keepingCapacity: true) }
}
