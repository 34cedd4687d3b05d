import Foundation
import Testing
import VLLMKernels
import VLLMModelFormats
import VLLMModels

/// AWQ, GPTQ and compressed-tensors checkpoints of the tiny random Llama (tools/gen-quantized-fixtures.py; the
/// compressed-tensors ones packed by that library itself and checked against transformers' own decompression):
/// their layers run as ggml block types on the int8 kernels, and the logits match transformers in float32 on the
/// dequantized weights.
struct QuantizedCheckpointTests {
    static let cases: [(name: String, types: String)] = [
        ("llama-awq", "F32+Q4_1"), ("llama-gptq", "F32+Q4_0"), ("llama-gptq-8bit", "F32+Q8_0"),
        ("llama-gptq-actorder", "F32+F16"), ("llama-ct-w4a16", "F32+Q4_0"), ("llama-ct-w8a16", "F32+Q8_0"),
    ]

    /// With int8 activations (the default, llama.cpp's scheme for the same block types) each matmul input is
    /// rounded to 8 bits a 32-value block, which moves this random model's logits by up to 2.1% of the largest (the
    /// same 0.0739 for the GPTQ and compressed-tensors files, whose blocks are identical); an unpacking error moves
    /// them by their own size. `--dtype float32` keeps f32 activations: within 1e-3.
    @Test(arguments: cases.map { ($0.name, $0.types, ComputeDType.auto) } + cases.map { ($0.name, "F32+F16", ComputeDType.float32) })
    func logitsMatchTransformersOnTheDequantizedWeights(_ name: String, _ types: String, _ dtype: ComputeDType) throws {
        let directory = ModelHarness.fixtures.appendingPathComponent("hf-quantized/\(name)")
        let expected = try JSONDecoder().decode(TransformersReferenceTests.Expected.self,
                                                from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        let model = try ModelHarness.load(directory.path, threads: 1, dtype: dtype)
        #expect(model.weightTypeDescription == types)
        var worst: Float = 0, largest: Float = 0
        for (prompt, reference) in zip(expected.prompts, expected.logits) {
            let cache = ModelHarness.cache(for: model, blocks: 8, blockSize: 4, type: .f32)
            let got = ModelHarness.allLogits(model, prompt, cache: cache, blockTable: [5, 2, 7, 0])
            for (row, refRow) in zip(got, reference) {
                for (a, b) in zip(row, refRow) { worst = max(worst, abs(a - b)); largest = max(largest, abs(b)) }
            }
        }
        let tolerance: Float = types.hasSuffix("F16") ? 1e-3 : 0.03
        #expect(worst / largest < tolerance, "\(name), \(dtype): max |Δlogit| = \(worst) of \(largest)")
    }

    struct Weights: Decodable { let weights: [String: [Float]] }

    /// The unpacking itself: a layer of four groups a row, rewritten as blocks and dequantized, equals the checkpoint
    /// format's dequantization `(q - zero) · scale` (Q4_0 and Q8_0 exactly; Q4_1 up to its f16 min, -zero · scale;
    /// F16 up to f16 rounding).
    @Test(arguments: cases)
    func unpackedWeightsEqualTheFormatsDequantization(_ name: String, _ types: String) throws {
        let directory = ModelHarness.fixtures.appendingPathComponent("hf-quantized/\(name)")
        let expected = try JSONDecoder().decode(Weights.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        let module = "model.layers.1.mlp.down_proj"
        let reference = try #require(expected.weights[module])
        let (type, got) = try ModelLoader.quantizedLayer(directory: directory.path, module: module, rows: 64, columns: 128)
        #expect("F32+" + type.name == types)
        var worst: Float = 0, largest: Float = 0
        for (a, b) in zip(got, reference) { worst = max(worst, abs(a - b)); largest = max(largest, abs(b)) }
        let tolerance: Float = type == .q4_1 || type == .f16 ? largest * 1e-3 : largest * 1e-7
        #expect(worst <= tolerance, "\(name) (\(type.name)): max |Δw| = \(worst) of \(largest)")
    }

    @Test func aMismatchedQuantizationFlagIsRefused() throws {
        let directory = ModelHarness.fixtures.appendingPathComponent("hf-quantized/llama-awq").path
        #expect {
            _ = try ModelLoader.load(.huggingFaceDirectory(path: directory), pool: ThreadPool(threadCount: 1), quantization: .gptq)
        } throws: { error in
            (error as? ModelFormatError)?.message.contains("--quantization gptq does not match the checkpoint") == true
        }
    }
}
