import CVLLMKernels

/// Deterministic random weights and activations for kernel tests.
struct KernelTestData {
    var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }

    /// `rows` rows of `columns` weights of `type`: random bytes with every scale field set to a finite value.
    mutating func weights(type: Int32, rows: Int, columns: Int) -> [UInt8] {
        let rowBytes = Int(vk_row_bytes(type, Int64(columns)))
        var bytes = (0..<(rowBytes * rows)).map { _ in UInt8(truncatingIfNeeded: next()) }
        let blockBytes = Int(vk_type_block_bytes(type))
        func setHalf(_ offset: Int, _ value: Float) {
            let h = vk_f32_to_f16(value)
            bytes[offset] = UInt8(h & 0xFF)
            bytes[offset + 1] = UInt8(h >> 8)
        }
        switch Int(type) {
        case Int(VK_F32):
            for i in 0..<(rows * columns) { withUnsafeBytes(of: float().bitPattern.littleEndian) { bytes.replaceSubrange((4 * i)..<(4 * i + 4), with: $0) } }
        case Int(VK_F16), Int(VK_BF16):
            for i in 0..<(rows * columns) { setHalf(2 * i, 0) ; let v = float(); let h = type == VK_F16 ? vk_f32_to_f16(v) : vk_f32_to_bf16(v); bytes[2 * i] = UInt8(h & 0xFF); bytes[2 * i + 1] = UInt8(h >> 8) }
        default:
            for b in stride(from: 0, to: bytes.count, by: blockBytes) {
                switch Int(type) {
                case Int(VK_Q6_K): setHalf(b + 208, float() * 0.02)
                case Int(VK_Q2_K): setHalf(b + 80, float() * 0.02); setHalf(b + 82, float() * 0.02)
                case Int(VK_Q3_K): setHalf(b + 108, float() * 0.02)
                case Int(VK_IQ4_XS): setHalf(b, float() * 0.002)
                case Int(VK_Q4_K), Int(VK_Q5_K): setHalf(b, float() * 0.02); setHalf(b + 2, float() * 0.02)
                case Int(VK_Q4_1), Int(VK_Q5_1): setHalf(b, float() * 0.1); setHalf(b + 2, float() * 0.1)
                case Int(VK_Q8_0):
                    setHalf(b, float() * 0.01)
                    for j in 2..<34 where bytes[b + j] == 0x80 { bytes[b + j] = 0x81 }
                default: setHalf(b, float() * 0.1)
                }
            }
        }
        return bytes
    }

    mutating func activations(_ count: Int) -> [Float] { (0..<count).map { _ in float() * 3 } }
}

/// Every ISA level this CPU can run, scalar first.
let availableISAs: [Int32] = (0...vk_cpu_isa()).map { Int32($0) }
