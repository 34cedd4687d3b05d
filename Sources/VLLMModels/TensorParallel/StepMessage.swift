/// What rank 0 broadcasts to the other tensor-parallel ranks before each forward pass: the batch (tokens, positions,
/// block tables, the rows that want outputs) and the KV cache geometry and context the engine fixed, so that every rank
/// computes the same step on its own part of the cache. Encoded as little-endian 32-bit words.
struct StepMessage: Equatable {
    enum Kind: Int32 { case step = 1, shutdown = 2 }

    var kind: Kind
    /// The engine's max model length (`LanguageModel.fitContext`).
    var contextLength: Int
    var blockCount: Int
    var blockSize: Int
    var kvType: KVCacheType
    var batch: ForwardBatch

    static func shutdown() -> StepMessage {
        StepMessage(kind: .shutdown, contextLength: 0, blockCount: 0, blockSize: 0, kvType: .f16, batch: ForwardBatch())
    }

    var encoded: [UInt8] {
        var words: [Int32] = [kind.rawValue, Int32(contextLength), Int32(blockCount), Int32(blockSize), kvType == .f32 ? 0 : 1,
                              batch.output == .logits ? 0 : 1, Int32(batch.tokens.count)]
        words += batch.tokens
        words.append(Int32(batch.extraLogitIndices.count))
        words += batch.extraLogitIndices.map { Int32($0) }
        words.append(Int32(batch.sequences.count))
        for s in batch.sequences {
            words += [Int32(s.tokenStart), Int32(s.tokenCount), Int32(s.startPosition), s.wantsLogits ? 1 : 0, Int32(s.blockTables.count)]
            for table in s.blockTables {
                words.append(Int32(table.count))
                words += table
            }
        }
        return words.withUnsafeBytes { Array($0) }
    }

    /// Decodes a message of `encoded`; nil when the bytes are not one (a transport fault, not user input).
    init?(decoding bytes: [UInt8]) {
        guard bytes.count % 4 == 0 else { return nil }
        let words = bytes.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        var reader = WordReader(words: words)
        guard let k = reader.next().flatMap(Kind.init(rawValue:)), let context = reader.next(), let blocks = reader.next(),
              let size = reader.next(), let type = reader.next(), let output = reader.next(), let tokens = reader.array() else { return nil }
        var batch = ForwardBatch(tokens: tokens, output: output == 0 ? .logits : .hiddenStates)
        guard let extra = reader.array(), let sequenceCount = reader.next(), sequenceCount >= 0 else { return nil }
        batch.extraLogitIndices = extra.map(Int.init)
        for _ in 0..<sequenceCount {
            guard let start = reader.next(), let count = reader.next(), let position = reader.next(), let wants = reader.next(),
                  let groups = reader.next(), groups >= 0 else { return nil }
            var tables: [[Int32]] = []
            for _ in 0..<groups {
                guard let table = reader.array() else { return nil }
                tables.append(table)
            }
            batch.sequences.append(ForwardBatch.Sequence(tokenStart: Int(start), tokenCount: Int(count), startPosition: Int(position),
                                                         blockTables: tables, wantsLogits: wants != 0))
        }
        guard reader.atEnd else { return nil }
        self.init(kind: k, contextLength: Int(context), blockCount: Int(blocks), blockSize: Int(size), kvType: type == 0 ? .f32 : .f16,
                  batch: batch)
    }

    init(kind: Kind, contextLength: Int, blockCount: Int, blockSize: Int, kvType: KVCacheType, batch: ForwardBatch) {
        self.kind = kind
        self.contextLength = contextLength
        self.blockCount = blockCount
        self.blockSize = blockSize
        self.kvType = kvType
        self.batch = batch
    }
}

private struct WordReader {
    let words: [Int32]
    var index = 0
    var atEnd: Bool { index == words.count }

    mutating func next() -> Int32? {
        guard index < words.count else { return nil }
        defer { index += 1 }
        return words[index]
    }

    /// A count, then that many words.
    mutating func array() -> [Int32]? {
        guard let n = next(), n >= 0, index + Int(n) <= words.count else { return nil }
        defer { index += Int(n) }
        return Array(words[index..<(index + Int(n))])
    }
}
