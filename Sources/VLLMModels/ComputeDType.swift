/// The precision of the dot products with 16-bit float weights (vLLM's `--dtype`).
///
/// Quantized GGUF weights are unaffected: their matmuls always take llama.cpp's int8 activations. Integer-quantized
/// Hugging Face checkpoints (AWQ, GPTQ, compressed-tensors) take int8 activations too, except under `float32`, where
/// their layers run as F16 rows with f32 activations. For BF16
/// weights on a CPU with AVX-512 BF16, `bfloat16` rounds each activation row to bf16 and multiplies with
/// `vdpbf16ps` (the model's own dtype, as vLLM and PyTorch compute it; twice the multiply-adds of an f32 FMA
/// per instruction), while `float32` keeps f32 activations and exact products on f32-FMA panels (closer to a float32
/// reference, slower to prefill); so do CPUs without AVX-512 BF16. F32 and F16 weights always take f32 activations.
public enum ComputeDType: String, Sendable, Equatable, CaseIterable {
    /// The weights' own dtype: bfloat16 for BF16 weights.
    case auto
    case bfloat16
    case float32

    /// Whether BF16 weights get packed panels and bf16 dot products (where the CPU has AVX-512 BF16).
    var bfloat16Products: Bool { self != .float32 }
}
