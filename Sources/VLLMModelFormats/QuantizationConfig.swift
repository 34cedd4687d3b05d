import Foundation

/// A Hugging Face checkpoint's `quantization_config` (config.json) for the weight-only integer formats the engine
/// runs: AutoAWQ's GEMM packing, AutoGPTQ's (and GPTQModel's) packing, and compressed-tensors' `pack-quantized`
/// (llm-compressor's W4A16 and W8A16). Anything else is refused by name when the config is read.
public struct QuantizationConfig: Sendable, Equatable {
    public enum Method: String, Sendable, CaseIterable {
        case awq, gptq
        case compressedTensors = "compressed-tensors"
    }

    public var method: Method
    /// 4 or 8.
    public var bits: Int
    /// Input columns sharing one scale (and zero point); nil: one group per output row (per channel).
    public var groupSize: Int?
    /// Whether zero points are stored (AWQ `zero_point`, GPTQ `sym: false`, compressed-tensors `symmetric: false`).
    public var hasZeroPoints: Bool
    /// GPTQ's act-order (`desc_act`): each input column's group comes from `g_idx`.
    public var actOrder: Bool
    /// GPTQ zero points stored minus one (AutoGPTQ's `gptq` format; GPTQModel's `gptq_v2` stores them as they are).
    public var zerosStoredMinusOne: Bool
    /// Reads the `quantization_config` object; errors name the unsupported value.
    public init(json: [String: Any], file: String) throws(ModelFormatError) {
        func fail(_ message: String) -> ModelFormatError { ModelFormatError("'\(file)': quantization_config \(message)") }
        guard let name = json["quant_method"] as? String else { throw fail("has no quant_method") }
        guard let method = Method(rawValue: name) else {
            throw fail("quant_method '\(name)' is not supported (supported: \(Method.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.method = method
        actOrder = false
        zerosStoredMinusOne = false
        // Modules left unquantized (`modules_to_not_convert`, `ignore`) keep their float `.weight` tensor, which the
        // weight store binds as it is: the lists need no reading.
        func group(_ value: Any?) -> Int? {
            guard let g = value as? Int, g > 0 else { return nil }
            return g
        }
        switch method {
        case .awq:
            bits = json["bits"] as? Int ?? json["w_bit"] as? Int ?? 4
            groupSize = group(json["group_size"] ?? json["q_group_size"])
            hasZeroPoints = json["zero_point"] as? Bool ?? true
            let version = (json["version"] as? String)?.lowercased() ?? "gemm"
            guard version == "gemm" else { throw fail("version '\(version)' is not supported (AWQ's GEMM packing is)") }
            guard bits == 4 else { throw fail("bits \(bits) is not supported for AWQ (4 is)") }
        case .gptq:
            bits = json["bits"] as? Int ?? 4
            groupSize = group(json["group_size"])
            hasZeroPoints = !(json["sym"] as? Bool ?? true)
            actOrder = json["desc_act"] as? Bool ?? false
            let format = json["checkpoint_format"] as? String ?? "gptq"
            guard format == "gptq" || format == "gptq_v2" else { throw fail("checkpoint_format '\(format)' is not supported (gptq, gptq_v2)") }
            zerosStoredMinusOne = format == "gptq"
            guard bits == 4 || bits == 8 else { throw fail("bits \(bits) is not supported for GPTQ (4 and 8 are)") }
        case .compressedTensors:
            let format = json["format"] as? String ?? "pack-quantized"
            guard format == "pack-quantized" else { throw fail("format '\(format)' is not supported (pack-quantized: W4A16, W8A16)") }
            guard let groups = json["config_groups"] as? [String: Any], groups.count == 1,
                  let scheme = groups.values.first as? [String: Any], let weights = scheme["weights"] as? [String: Any] else {
                throw fail("must have exactly one entry in config_groups with a 'weights' scheme")
            }
            if let activations = scheme["input_activations"], !(activations is NSNull) {
                throw fail("quantizes input activations, which is not supported (weight-only W4A16 and W8A16 are)")
            }
            guard (weights["type"] as? String ?? "int") == "int" else { throw fail("weights type '\(weights["type"] ?? "")' is not supported (int is)") }
            bits = weights["num_bits"] as? Int ?? 4
            guard bits == 4 || bits == 8 else { throw fail("num_bits \(bits) is not supported (4 and 8 are)") }
            hasZeroPoints = !(weights["symmetric"] as? Bool ?? true)
            if hasZeroPoints { throw fail("asymmetric weights (symmetric: false) are not supported") }
            let strategy = weights["strategy"] as? String ?? "group"
            switch strategy {
            case "group": groupSize = group(weights["group_size"])
            case "channel": groupSize = nil
            default: throw fail("weight strategy '\(strategy)' is not supported (group, channel)")
            }
            if weights["actorder"] is String { throw fail("activation ordering (actorder) is not supported for compressed-tensors") }
        }
        if let g = groupSize, g % 32 != 0 { throw fail("group_size \(g) is not supported (a multiple of 32, or per channel)") }
    }
}
