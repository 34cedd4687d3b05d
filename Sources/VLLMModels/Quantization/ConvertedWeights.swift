import Foundation
import VLLMKernels
import VLLMModelFormats

/// An integer-quantized linear layer (AWQ, GPTQ, compressed-tensors) rewritten row by row as the ggml block type
/// that holds its values exactly, so it runs on the same packed int8 kernels as GGUF: 4-bit weights with every
/// zero point at 8 (symmetric) become Q4_0 (`(q - 8) · d`, d the group's scale); other 4-bit weights become Q4_1
/// (`q · d + m`, m = -zero · scale rounded to f16: 2^-11 of the zero's share); 8-bit symmetric weights become Q8_0.
/// Groups are multiples of 32 columns, so a block never straddles two scales. GPTQ act-order (columns of one
/// block in different groups) and 8-bit weights with zero points have no such block: they become F16 rows
/// (each weight rounded to f16) on the float kernels, as every layer does under `--dtype float32` (f32 activations
/// instead of llama.cpp's int8 ones: logits within 1e-3 of float32 on the dequantized weights).
final class ConvertedWeights: @unchecked Sendable {
    let type: TensorType
    let rows: Int, columns: Int
    let base: UnsafeMutableRawPointer
    let byteCount: Int

    init(_ w: IntegerWeights, floatActivations: Bool = false) {
        rows = w.rows
        columns = w.columns
        let groups = w.columns / w.groupSize
        let center = 1 << (w.bits - 1)
        let symmetric = (0..<w.rows).allSatisfy { r in (0..<groups).allSatisfy { w.zero(r, $0) == center } }
        if floatActivations || w.groupIndex != nil || (w.bits == 8 && !symmetric) {
            type = .f16
        } else if w.bits == 8 {
            type = .q8_0
        } else {
            type = symmetric ? .q4_0 : .q4_1
        }
        let rowBytes = type == .f16 ? 2 * columns : columns / 32 * type.blockBytes
        byteCount = rows * rowBytes
        base = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        let (type, address, columns) = (type, Int(bitPattern: base), columns)
        // Rows are independent: spread them over the cores (the unpacking is per weight, 1.5B weights take seconds).
        let chunks = min(rows, 8 * ProcessInfo.processInfo.activeProcessorCount)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
          for r in (chunk * rows / chunks)..<((chunk + 1) * rows / chunks) {
            let row = UnsafeMutableRawPointer(bitPattern: address)! + r * rowBytes
            if type == .f16 {
                for c in 0..<columns {
                    let g = w.group(c)
                    let value = Float(w.value(r, c) - w.zero(r, g)) * w.scale(r, g)
                    row.storeBytes(of: Float16(value).bitPattern, toByteOffset: 2 * c, as: UInt16.self)
                }
                continue
            }
            for b in 0..<(columns / 32) {
                let block = row + b * type.blockBytes
                let g = w.group(b * 32), scale = w.scale(r, g)
                block.storeBytes(of: Float16(scale).bitPattern, as: UInt16.self)
                if type == .q8_0 {
                    for i in 0..<32 { block.storeBytes(of: Int8(w.value(r, b * 32 + i) - center), toByteOffset: 2 + i, as: Int8.self) }
                    continue
                }
                var offset = 2
                if type == .q4_1 {
                    block.storeBytes(of: Float16(-Float(w.zero(r, g)) * scale).bitPattern, toByteOffset: 2, as: UInt16.self)
                    offset = 4
                }
                // ggml's nibble order: byte j holds element j (low) and element j + 16 (high).
                for j in 0..<16 {
                    let low = w.value(r, b * 32 + j), high = w.value(r, b * 32 + j + 16)
                    block.storeBytes(of: UInt8(low | high << 4), toByteOffset: offset + j, as: UInt8.self)
                }
            }
          }
        }
    }

    deinit { base.deallocate() }

    /// The matrix the model binds (its storage is this object, which the model keeps).
    var matrix: WeightMatrix { WeightMatrix(typeID: type.rawValue, rows: rows, columns: columns, base: base) }
}

extension ModelLoader {
    /// One linear layer (`module`, e.g. `model.layers.1.mlp.down_proj`, of `rows` outputs and `columns` inputs) of a
    /// quantized Hugging Face checkpoint as the engine computes with it: the ggml type it is rewritten to and its rows
    /// dequantized to f32, `[rows * columns]` (for checks against the checkpoint's own dequantization).
    public static func quantizedLayer(directory: String, module: String, rows: Int, columns: Int,
                                      dtype: ComputeDType = .auto) throws(ModelFormatError) -> (type: TensorType, weights: [Float]) {
        let config = try HuggingFaceConfig.load(directory: directory)
        guard let quantization = config.quantization else { throw ModelFormatError("'\(directory)' has no quantization_config") }
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        var used: [String] = []
        let layer = ConvertedWeights(try IntegerWeights(prefix: module, rows: rows, columns: columns, config: quantization,
                                                        lookup: { checkpoint.tensor(named: $0) }, used: &used, file: directory),
                                     floatActivations: dtype == .float32)
        let rowBytes = layer.byteCount / rows
        var weights = [Float](repeating: 0, count: rows * columns)
        weights.withUnsafeMutableBufferPointer { out in
            for r in 0..<rows {
                Kernels.dequantizeRow(type: layer.type.rawValue, layer.base + r * rowBytes, into: out.baseAddress! + r * columns, count: columns)
            }
        }
        return (layer.type, weights)
    }
}
