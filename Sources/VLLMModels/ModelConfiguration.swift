import Foundation
import VLLMModelFormats

/// Hyper-parameters of a Llama-family decoder (Llama 2/3, SmolLM2, Mistral, Qwen2, Qwen3, Phi-3, and the
/// mixture-of-experts Qwen2-MoE, Qwen3-MoE and Mixtral).
public struct ModelConfiguration: Sendable, Equatable {
    /// The architecture name as the file gives it (`llama`, `mistral`, `qwen2`, `qwen3`).
    public var architecture: String
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabularySize: Int
    public var maxPositions: Int
    public var rmsNormEps: Float
    /// Rotary frequency of each dimension pair (`headDim / 2` values), scaling already applied.
    public var ropeInverseFrequencies: [Float]
    /// true: pairs (i, i + headDim/2) as Hugging Face computes them; false: adjacent pairs (GGUF `llama`,
    /// whose Q/K rows were permuted at conversion so that the two layouts give the same attention).
    public var ropeNeoxStyle: Bool
    /// Qwen3's and Gemma 3's RMS norm on each head of Q and K before RoPE.
    public var hasQKNorm: Bool
    /// Multiplies the RoPE cosines and sines (so attention logits by its square): LongRoPE's attention factor.
    public var ropeAttentionFactor: Float = 1
    /// LongRoPE's factors for contexts beyond the original one (Phi-3 128k), taken by `fitContext`.
    public var longRoPE: LongRoPE?
    /// The attention window of every layer, in positions (nil: full attention): Mistral's, Mixtral's, Phi-3's.
    public var slidingWindow: Int?
    /// The routed experts of mixture-of-experts feed-forward layers (Qwen2/3-MoE, Mixtral); nil for dense models.
    public var experts: MixtureOfExpertsConfiguration?

    /// The `model_type`s of the Llama family's Hugging Face configs (Phi-3 and the mixture-of-experts variants included).
    static let llamaFamilyTypes = ["llama", "mistral", "qwen2", "qwen3", "phi3", "qwen2_moe", "qwen3_moe", "mixtral"]

    static func unsupported(_ name: String, in file: String) -> ModelFormatError {
        ModelFormatError("'\(file)' has architecture '\(name)', which is not a Llama-family architecture (\(llamaFamilyTypes.joined(separator: ", ")))")
    }

    /// A configuration given field by field (tests' fake models; architectures that compute their own).
    public init(architecture: String, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
                headDim: Int, vocabularySize: Int, maxPositions: Int, rmsNormEps: Float = 1e-6, ropeInverseFrequencies: [Float]? = nil,
                ropeNeoxStyle: Bool = true, hasQKNorm: Bool = false) {
        self.architecture = architecture
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.vocabularySize = vocabularySize
        self.maxPositions = maxPositions
        self.rmsNormEps = rmsNormEps
        self.ropeInverseFrequencies = ropeInverseFrequencies ?? Self.baseInverseFrequencies(base: 10000, dim: headDim).map { Float($0) }
        self.ropeNeoxStyle = ropeNeoxStyle
        self.hasQKNorm = hasQKNorm
    }

    /// `1 / base^(2k/dim)` for k in 0..<dim/2, in double then rounded to f32.
    static func baseInverseFrequencies(base: Double, dim: Int) -> [Double] {
        (0..<(dim / 2)).map { k in 1.0 / pow(base, Double(2 * k) / Double(dim)) }
    }

    /// Llama 3's frequency-dependent scaling (Hugging Face `_compute_llama3_parameters`).
    static func llama3Scaled(_ inv: [Double], factor: Double, low: Double, high: Double, originalContext: Double) -> [Double] {
        let lowWavelength = originalContext / low
        let highWavelength = originalContext / high
        return inv.map { f in
            let wavelength = 2 * Double.pi / f
            if wavelength < highWavelength { return f }
            if wavelength > lowWavelength { return f / factor }
            let smooth = (originalContext / wavelength - low) / (high - low)
            return (1 - smooth) * f / factor + smooth * f
        }
    }
}
