/// The element type of a stored tensor: a ggml type id (as in GGUF), any of ggml's, with the block layout ggml
/// gives it, so that a file's tensors can all be read and sized whether or not the kernels compute with them (the
/// model loader asks the kernels which they do). Safetensors dtypes map onto the same values (F32, F16, BF16).
public struct TensorType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The ggml type id.
    public let rawValue: Int32

    /// The type with ggml id `rawValue`; nil for ids ggml does not define (never used, or removed such as 4, 5, 31-33).
    public init?(rawValue: Int32) {
        guard Self.traits.indices.contains(Int(rawValue)), Self.traits[Int(rawValue)] != nil else { return nil }
        self.rawValue = rawValue
    }

    private init(_ id: Int32) { rawValue = id }

    public static let f32 = TensorType(0), f16 = TensorType(1), q4_0 = TensorType(2), q4_1 = TensorType(3)
    public static let q5_0 = TensorType(6), q5_1 = TensorType(7), q8_0 = TensorType(8), q8_1 = TensorType(9)
    public static let q2_K = TensorType(10), q3_K = TensorType(11), q4_K = TensorType(12), q5_K = TensorType(13)
    public static let q6_K = TensorType(14), q8_K = TensorType(15), iq2_xxs = TensorType(16), iq2_xs = TensorType(17)
    public static let iq3_xxs = TensorType(18), iq1_s = TensorType(19), iq4_nl = TensorType(20), iq3_s = TensorType(21)
    public static let iq2_s = TensorType(22), iq4_xs = TensorType(23), i8 = TensorType(24), i16 = TensorType(25)
    public static let i32 = TensorType(26), i64 = TensorType(27), f64 = TensorType(28), iq1_m = TensorType(29)
    public static let bf16 = TensorType(30), tq1_0 = TensorType(34), tq2_0 = TensorType(35), mxfp4 = TensorType(39)
    public static let nvfp4 = TensorType(40), q1_0 = TensorType(41), q2_0 = TensorType(42)

    /// Every type ggml defines, in id order.
    public static let allCases: [TensorType] = Self.traits.indices.compactMap { TensorType(rawValue: Int32($0)) }

    /// ggml's name for the type, upper case as in its enum (`GGML_TYPE_IQ2_XXS` is "IQ2_XXS"; `ggml_type_name`
    /// prints the same in lower case).
    public var name: String { Self.traits[Int(rawValue)]!.name }

    /// Elements per block (1 for plain numbers).
    public var blockSize: Int { Self.traits[Int(rawValue)]!.blockSize }

    /// Bytes per block.
    public var blockBytes: Int { Self.traits[Int(rawValue)]!.blockBytes }

    public var description: String { name }

    /// Bytes of one row of `count` elements (`count` a multiple of the block size).
    public func rowBytes(_ count: Int) -> Int { count / blockSize * blockBytes }

    /// ggml's type traits by id (ggml/src/ggml.c `type_traits`: `blck_size`, `type_size`; the same as gguf-py's
    /// `GGML_QUANT_SIZES`); nil for ids ggml does not define. QK_K = 256.
    private static let traits: [(name: String, blockSize: Int, blockBytes: Int)?] = [
        ("F32", 1, 4), ("F16", 1, 2), ("Q4_0", 32, 2 + 16), ("Q4_1", 32, 2 + 2 + 16), nil, nil,
        ("Q5_0", 32, 2 + 4 + 16), ("Q5_1", 32, 2 + 2 + 4 + 16), ("Q8_0", 32, 2 + 32), ("Q8_1", 32, 2 + 2 + 32),
        ("Q2_K", 256, 2 + 2 + 256 / 16 + 256 / 4),                   // 10
        ("Q3_K", 256, 2 + 256 / 4 + 256 / 8 + 12),
        ("Q4_K", 256, 2 + 2 + 256 / 2 + 12),
        ("Q5_K", 256, 2 + 2 + 256 / 2 + 256 / 8 + 12),
        ("Q6_K", 256, 2 + 256 / 2 + 256 / 4 + 256 / 16),
        ("Q8_K", 256, 4 + 256 + 256 / 8),                             // 15
        ("IQ2_XXS", 256, 2 + 256 / 4),
        ("IQ2_XS", 256, 2 + 256 / 4 + 256 / 32),
        ("IQ3_XXS", 256, 2 + 256 / 4 + 256 / 8),
        ("IQ1_S", 256, 2 + 256 / 8 + 256 / 16),
        ("IQ4_NL", 32, 2 + 16),                                       // 20
        ("IQ3_S", 256, 2 + 256 / 4 + 256 / 8 + 256 / 32 + 4),
        ("IQ2_S", 256, 2 + 256 / 4 + 256 / 16),
        ("IQ4_XS", 256, 2 + 2 + 256 / 2 + 256 / 64),
        ("I8", 1, 1), ("I16", 1, 2), ("I32", 1, 4), ("I64", 1, 8), ("F64", 1, 8),   // 24-28
        ("IQ1_M", 256, 256 / 8 + 256 / 16 + 256 / 32),
        ("BF16", 1, 2),                                               // 30
        nil, nil, nil,                                                // Q4_0_4_4, Q4_0_4_8, Q4_0_8_8: removed
        ("TQ1_0", 256, 2 + 4 * 13),
        ("TQ2_0", 256, 2 + 64),                                       // 35
        nil, nil, nil,                                                // IQ4_NL_4_4, _4_8, _8_8: removed
        ("MXFP4", 32, 1 + 16),
        ("NVFP4", 64, 4 + 32),                                        // 40
        ("Q1_0", 128, 2 + 16),
        ("Q2_0", 64, 2 + 16),
    ]

    /// A name for any id read from a file, for error messages ("type id 77" when ggml has none).
    static func name(ofID id: UInt32) -> String {
        Int32(exactly: id).flatMap(TensorType.init(rawValue:))?.name ?? "type id \(id)"
    }
}
