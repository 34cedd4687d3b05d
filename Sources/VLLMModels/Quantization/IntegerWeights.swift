import VLLMModelFormats

/// One linear layer of an AWQ, GPTQ or compressed-tensors checkpoint, unpacked on demand: the stored (unsigned)
/// integer of each weight, and each group's zero point and scale, indexed by output row and input column, so that
/// `weight[row][column] = (value(row, column) - zero(row, group(column))) * scale(row, group(column))`.
struct IntegerWeights: @unchecked Sendable {  // a read-only view of the checkpoint's mapped tensors
    let rows: Int, columns: Int, bits: Int
    /// Input columns per group (`columns` when the scale is per output row).
    let groupSize: Int
    /// Group of each input column, for GPTQ act-order; nil: `column / groupSize`.
    let groupIndex: [Int32]?
    private let packed: UnsafeRawBufferPointer
    private let zeros: UnsafeRawBufferPointer?
    private let scales: UnsafeRawBufferPointer
    private let scaleType: TensorType
    private let method: QuantizationConfig.Method
    private let zerosMinusOne: Bool

    typealias Lookup = (String) -> (info: SafetensorsTensorInfo, data: UnsafeRawBufferPointer)?

    /// The tensors of module `prefix` (`model.layers.0.self_attn.q_proj`), checked against `rows` × `columns`;
    /// `used` receives the names bound.
    init(prefix: String, rows: Int, columns: Int, config q: QuantizationConfig, lookup: Lookup, used: inout [String],
         file: String) throws(ModelFormatError) {
        self.rows = rows
        self.columns = columns
        bits = q.bits
        method = q.method
        zerosMinusOne = q.zerosStoredMinusOne
        let perWord = 32 / q.bits
        let group = q.groupSize ?? columns
        guard columns % group == 0 else {
            throw ModelFormatError("'\(file)': \(prefix) has \(columns) input columns, not a multiple of group_size \(group)")
        }
        groupSize = group
        let groups = columns / group
        func tensor(_ suffix: String, _ shape: [Int], _ types: [TensorType]) throws(ModelFormatError) -> (SafetensorsTensorInfo, UnsafeRawBufferPointer) {
            let name = prefix + "." + suffix
            guard let t = lookup(name) else { throw ModelFormatError("'\(file)' is missing the tensor '\(name)' (\(q.method.rawValue) checkpoint)") }
            guard t.info.shape == shape, types.contains(t.info.type) else {
                throw ModelFormatError("tensor '\(name)' in '\(file)' is \(t.info.type.name) \(t.info.shape); \(types.map(\.name).joined(separator: " or ")) \(shape) expected")
            }
            used.append(name)
            return t
        }
        let floats: [TensorType] = [.f16, .bf16, .f32]
        switch q.method {
        case .awq:
            packed = try tensor("qweight", [columns, rows / perWord], [.i32]).1
            zeros = try tensor("qzeros", [groups, rows / perWord], [.i32]).1
            let s = try tensor("scales", [groups, rows], floats)
            (scaleType, scales) = (s.0.type, s.1)
            groupIndex = nil
        case .gptq:
            packed = try tensor("qweight", [columns / perWord, rows], [.i32]).1
            zeros = try tensor("qzeros", [groups, rows / perWord], [.i32]).1
            let s = try tensor("scales", [groups, rows], floats)
            (scaleType, scales) = (s.0.type, s.1)
            if lookup(prefix + ".g_idx") != nil {
                let raw = try tensor("g_idx", [columns], [.i32]).1
                let g = (0..<columns).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
                guard g.allSatisfy({ $0 >= 0 && Int($0) < groups }) else {
                    throw ModelFormatError("tensor '\(prefix).g_idx' in '\(file)' holds a group outside 0..<\(groups)")
                }
                let trivial = g.indices.allSatisfy { Int(g[$0]) == $0 / group }
                groupIndex = trivial ? nil : g
            } else {
                groupIndex = nil
            }
        case .compressedTensors:
            packed = try tensor("weight_packed", [rows, columns / perWord], [.i32]).1
            zeros = nil
            groupIndex = nil
            let s = try tensor("weight_scale", [rows, groups], floats)
            (scaleType, scales) = (s.0.type, s.1)
            if lookup(prefix + ".weight_shape") != nil {
                let shape = try tensor("weight_shape", [2], [.i64, .i32])
                let dims = shape.0.type == .i64 ? (0..<2).map { Int(shape.1.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
                                                : (0..<2).map { Int(shape.1.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
                guard dims == [rows, columns] else {
                    throw ModelFormatError("tensor '\(prefix).weight_shape' in '\(file)' is \(dims); [\(rows), \(columns)] expected")
                }
            }
        }
    }

    /// The stored unsigned integer of weight (row, column).
    @inline(__always) func value(_ row: Int, _ column: Int) -> Int {
        let perWord = 32 / bits, mask = (1 << bits) - 1
        @inline(__always) func word(_ i: Int) -> UInt32 { packed.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) }
        switch method {
        case .awq:
            // Along output rows, eight to a word in the order 0, 2, 4, 6, 1, 3, 5, 7.
            return Int(word(column * (rows / perWord) + row / perWord) >> UInt32(4 * Self.awqNibble[row % 8])) & mask
        case .gptq:
            // Along input columns, in order.
            return Int(word((column / perWord) * rows + row) >> UInt32(bits * (column % perWord))) & mask
        case .compressedTensors:
            return Int(word(row * (columns / perWord) + column / perWord) >> UInt32(bits * (column % perWord))) & mask
        }
    }

    /// The group of input `column`.
    @inline(__always) func group(_ column: Int) -> Int { groupIndex.map { Int($0[column]) } ?? column / groupSize }

    /// The zero point of (row, group), as a stored value.
    func zero(_ row: Int, _ group: Int) -> Int {
        guard let zeros else { return 1 << (bits - 1) }  // compressed-tensors: symmetric, stored with this offset
        let perWord = 32 / bits, mask = (1 << bits) - 1
        let word = zeros.loadUnaligned(fromByteOffset: 4 * (group * (rows / perWord) + row / perWord), as: UInt32.self)
        let shift = method == .awq ? 4 * Self.awqNibble[row % 8] : bits * (row % perWord)
        let z = Int(word >> UInt32(shift)) & mask
        return zerosMinusOne ? z + 1 : z
    }

    /// The scale of (row, group).
    func scale(_ row: Int, _ group: Int) -> Float {
        let groups = columns / groupSize
        let index = method == .compressedTensors ? row * groups + group : group * rows + row
        switch scaleType {
        case .f16: return Float(Float16(bitPattern: scales.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
        case .bf16: return Float(bitPattern: UInt32(scales.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)) << 16)
        default: return scales.loadUnaligned(fromByteOffset: 4 * index, as: Float.self)
        }
    }

    /// AWQ packs output rows 8k ..< 8k + 8 into one word with row 8k + j in nibble `awqNibble[j]`.
    static let awqNibble = [0, 4, 1, 5, 2, 6, 3, 7]
}
