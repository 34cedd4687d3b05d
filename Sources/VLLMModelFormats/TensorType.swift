/// Element types of stored tensors: ggml's ids (as in GGUF) for the types this engine computes with.
/// Safetensors dtypes map onto the same values (F32, F16, BF16).
public enum TensorType: Int32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, iq4_NL = 20, iq4_XS = 23, bf16 = 30

    /// Elements per block (1 for plain floats).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_NL: 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_XS: 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q5_1: 24
        case .q8_0: 34
        case .iq4_NL: 18
        case .q2_K: 84
        case .q3_K: 110
        case .iq4_XS: 136
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        }
    }

    /// The name llama.cpp prints.
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .iq4_NL: "IQ4_NL"
        case .q2_K: "Q2_K"
        case .q3_K: "Q3_K"
        case .iq4_XS: "IQ4_XS"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        }
    }

    /// Bytes of one row of `count` elements (`count` a multiple of the block size).
    public func rowBytes(_ count: Int) -> Int { count / blockSize * blockBytes }

    /// The ggml type name for an id this engine cannot compute with, for error messages.
    static func unsupportedName(_ id: UInt32) -> String {
        let names: [UInt32: String] = [
            9: "Q8_1", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS",
            19: "IQ1_S", 21: "IQ3_S", 22: "IQ2_S", 24: "I8", 25: "I16", 26: "I32",
            27: "I64", 28: "F64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        return names[id] ?? "type id \(id)"
    }
}
