import VLLMKernels

/// The precision of the dot products with float weights (vLLM's `--dtype`).
///
/// Quantized GGUF weights are unaffected: their matmuls always take llama.cpp's int8 activations. Integer-quantized
/// Hugging Face checkpoints (AWQ, GPTQ, compressed-tensors) take int8 activations too, except under `float32`, where
/// their layers run as F16 rows with f32 activations. For BF16
/// weights on a CPU with AVX-512 BF16, `bfloat16` rounds each activation row to bf16 and multiplies with
/// `vdpbf16ps` (the model's own dtype, as vLLM and PyTorch compute it; twice the multiply-adds of an f32 FMA
/// per instruction), while `float32` keeps f32 activations and exact products on f32-FMA panels (closer to a float32
/// reference, slower to prefill); so do CPUs without AVX-512 BF16. F16 weights always take f32 activations.
///
/// F32 weights: `float32` keeps them (f32-FMA panels of their own bits). `bfloat16` rounds them to bf16 and takes
/// bf16 products where the CPU has AVX-512 BF16, as vLLM casts a checkpoint to the dtype asked for. `auto` does the
/// same for pooling models (vLLM's `auto` serves a float32 pooling checkpoint in 16 bits: float16 on x86 CPUs;
/// all-MiniLM-L6-v2 then stays at cosine >= 0.99997 to sentence-transformers' float32, 1.4-1.6x faster) and keeps
/// f32 for generative models (where vLLM's `auto` takes bfloat16): a near-tie between two tokens can flip on bf16
/// products, and the tiny float32 checkpoints are checked against transformers' float32 logits.
public enum ComputeDType: String, Sendable, Equatable, CaseIterable {
    /// The weights' own dtype (bfloat16 for BF16 weights, float32 for F32 ones), except F32 weights of pooling
    /// models, which take bfloat16 products where the CPU has them.
    case auto
    case bfloat16
    case float32

    /// Whether BF16 weights get packed panels and bf16 dot products (where the CPU has AVX-512 BF16).
    var bfloat16Products: Bool { self != .float32 }
}

extension WeightMatrix {
    /// This matrix packed for `dtype`: under `bfloat16`, F32 weights are rounded to bf16 and take bf16 products
    /// (vLLM casts a float32 checkpoint to the dtype asked for); under `auto` they do so only when
    /// `float32AsBFloat16ByDefault` (pooling models, which vLLM serves in 16 bits by default).
    func packing(pool: ThreadPool, dtype: ComputeDType, float32AsBFloat16ByDefault: Bool = false, arena: PackedArena) -> WeightMatrix {
        let float32AsBFloat16 = dtype == .bfloat16 || (dtype == .auto && float32AsBFloat16ByDefault)
        return packing(pool: pool, bfloat16Products: dtype.bfloat16Products, float32AsBFloat16: float32AsBFloat16, arena: arena)
    }
}
