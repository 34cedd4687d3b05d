import CVLLMKernels

/// The instruction set the kernels dispatch to on this machine, chosen at run time from the CPU's features
/// (capped by the `VLLM_CPU_ISA` environment variable, `avx2` or `scalar`, to run the paths other machines take).
public enum KernelISA {
    /// "AVX-512 (VNNI, BF16)", "AVX2", or "portable C": what the matmul, attention and element-wise kernels run.
    public static var description: String {
        switch vk_cpu_isa() {
        case Int32(VK_ISA_AVX512):
            let extras = [vk_cpu_has_avx512_vnni() == 1 ? "VNNI" : nil, vk_cpu_has_avx512_bf16() == 1 ? "BF16" : nil].compactMap { $0 }
            return extras.isEmpty ? "AVX-512" : "AVX-512 (\(extras.joined(separator: ", ")))"
        case Int32(VK_ISA_AVX2): return "AVX2"
        default: return "portable C"
        }
    }
}
