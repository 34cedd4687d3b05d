import VLLMKernels
import VLLMModelFormats

extension TensorType {
    /// Whether the kernels compute with weights of this type, by their own answer rather than a list kept here: they
    /// know its block layout (`Kernels.blockSize(ofType:)` is not 0) and have a dot product for it (`Kernels.activationType`
    /// names the activation format it consumes). Q8_1 and Q8_K have a layout but are activation formats only, as in ggml.
    public var isComputable: Bool { Kernels.blockSize(ofType: rawValue) != 0 && Kernels.activationType(forWeightType: rawValue) != nil }

    /// The types the kernels compute with, in ggml id order.
    public static var computable: [TensorType] { allCases.filter(\.isComputable) }

    /// Refuses a checkpoint that holds a tensor the kernels cannot compute with, naming the first such tensor (in
    /// `tensors`' order), its type by ggml's name, how many more there are, and the types that are supported.
    static func checkComputable(_ tensors: [(name: String, type: TensorType)], in description: String) throws(ModelFormatError) {
        let refused = tensors.filter { !$0.type.isComputable }
        guard let first = refused.first else { return }
        let others = refused.dropFirst()
        let otherTypes = Set(others.map(\.type)).sorted { $0.rawValue < $1.rawValue }.map(\.name).joined(separator: ", ")
        let more = others.isEmpty ? "" : " (\(others.count) more tensor(s) have unsupported types too: \(otherTypes))"
        let supported = computable.map(\.name).joined(separator: ", ")
        throw ModelFormatError("tensor '\(first.name)' in '\(description)' has type \(first.type.name), which this engine cannot compute with\(more); supported tensor types: \(supported)")
    }
}
