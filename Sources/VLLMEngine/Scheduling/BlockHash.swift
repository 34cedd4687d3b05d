/// The identity of a full KV block for prefix caching: a 128-bit hash chained over the parent block's
/// hash, the block's token ids and extra keys (e.g. a cache salt), so equal hashes mean equal prefixes.
public struct BlockHash: Hashable, Sendable {
    public let high: UInt64
    public let low: UInt64

    /// Hashes one full block given its parent's hash (nil for the first block).
    public init(parent: BlockHash?, tokens: ArraySlice<Int32>, extraKey: UInt64 = 0) {
        var a: UInt64 = parent?.high ?? 0x243F_6A88_85A3_08D3
        var b: UInt64 = parent?.low ?? 0x1319_8A2E_0370_7344
        a = Self.mix(a ^ extraKey)
        b = Self.mix(b &+ extraKey &* 0x9E37_79B9_7F4A_7C15)
        for token in tokens {
            let t = UInt64(UInt32(bitPattern: token))
            a = Self.mix(a ^ (t &* 0xFF51_AFD7_ED55_8CCD))
            b = Self.mix(b &+ t &+ 0xC4CE_B9FE_1A85_EC53)
        }
        high = Self.mix(a ^ UInt64(tokens.count))
        low = Self.mix(b ^ high)
    }

    /// The extra key for a cache salt (FNV-1a over its UTF-8, then mixed); never 0, which means "no salt".
    public static func saltKey(_ salt: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in salt.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let key = mix(hash)
        return key == 0 ? 1 : key
    }

    /// The SplitMix64 finaliser: a cheap bijective mix with full avalanche.
    @inline(__always) static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension BlockHash {
    /// The key of this block in KV cache group `group`: group 0 keeps the hash, others get one of their own (each
    /// group holds its own copy of a block's K/V, vLLM's `BlockHashWithGroupId`).
    func inGroup(_ group: Int) -> BlockHash {
        group == 0 ? self : BlockHash(high: Self.mix(high ^ UInt64(group)), low: Self.mix(low &+ UInt64(group)))
    }

    private init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
}
