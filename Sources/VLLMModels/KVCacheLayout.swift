/// How a model's layers share the paged KV cache (vLLM's KV cache groups for hybrid models). Layers that attend the
/// same way (full attention, or a sliding window of one size) are cut into groups of `regionCount` layers. Each
/// group has its own block table per sequence; a block of group g holds the K/V of g's layers, its i-th layer in
/// region i. Full-attention groups keep every block of a sequence; sliding-window groups drop the blocks that fall
/// out of their window, so a long sequence of a model with sliding layers (Gemma 3) holds only a window's worth of
/// blocks for them.
public struct KVCacheLayout: Sendable, Equatable {
    /// One group of layers with one block table per sequence.
    public struct Group: Sendable, Equatable {
        /// The model's layer indices, in region order.
        public var layers: [Int]
        /// nil: full attention; n: a query sees its own position and the n - 1 before it.
        public var slidingWindow: Int?
    }

    public let groups: [Group]
    /// Layer regions a block spans (the largest group's layer count).
    public let regionCount: Int
    /// For each layer: its group and its region within a block.
    public let groupOfLayer: [Int]
    public let regionOfLayer: [Int]

    /// The layout for layers with the given sliding windows (nil = full attention): layers of each kind in index
    /// order, cut into groups of the smallest kind's count (vLLM's rule, so no region is left empty when the counts
    /// divide), full-attention groups first.
    public init(slidingWindows: [Int?]) {
        precondition(!slidingWindows.isEmpty)
        var kinds: [(window: Int?, layers: [Int])] = []
        for (layer, window) in slidingWindows.enumerated() {
            if let k = kinds.firstIndex(where: { $0.window == window }) { kinds[k].layers.append(layer) } else { kinds.append((window, [layer])) }
        }
        kinds.sort { ($0.window ?? 0, $0.layers[0]) < ($1.window ?? 0, $1.layers[0]) }
        let size = kinds.map(\.layers.count).min()!
        var groups: [Group] = []
        for kind in kinds {
            for start in stride(from: 0, to: kind.layers.count, by: size) {
                groups.append(Group(layers: Array(kind.layers[start..<min(start + size, kind.layers.count)]), slidingWindow: kind.window))
            }
        }
        var groupOf = [Int](repeating: 0, count: slidingWindows.count), regionOf = groupOf
        for (g, group) in groups.enumerated() {
            for (region, layer) in group.layers.enumerated() { groupOf[layer] = g; regionOf[layer] = region }
        }
        self.groups = groups
        regionCount = size
        groupOfLayer = groupOf
        regionOfLayer = regionOf
    }

    /// Every layer in one full-attention group (Llama-family models).
    public init(layerCount: Int) { self.init(slidingWindows: [Int?](repeating: nil, count: layerCount)) }

    /// Blocks one sequence of `tokens` tokens holds at most across all groups while steps of up to `stepTokens` new
    /// tokens run: every block for full-attention groups, the window plus one step (and a block of slack on each side)
    /// for sliding ones.
    public func blocksForSequence(tokens: Int, stepTokens: Int, blockSize: Int) -> Int {
        let all = (tokens + blockSize - 1) / blockSize
        return groups.reduce(0) { sum, group in
            guard let window = group.slidingWindow else { return sum + all }
            return sum + min(all, (window + stepTokens + blockSize - 1) / blockSize + 1)
        }
    }
}
