import VLLMModelFormats

/// The sliding-window fields of a Llama-family `config.json`.
struct SlidingWindowFields: Decodable {
    var slidingWindow: Int?
    var useSlidingWindow: Bool?

    enum CodingKeys: String, CodingKey {
        case slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window"
    }
}

extension ModelConfiguration {
    /// The `model_type`s whose `sliding_window` applies to every layer (transformers' Mistral, Mixtral and Phi-3).
    static let everyLayerSlidingTypes: Set<String> = ["mistral", "mixtral", "phi3"]

    /// Reads `sliding_window` for the types that slide on every layer; the Qwen types slide only with
    /// `use_sliding_window` on some layers, which is refused by name.
    mutating func applySlidingWindow(huggingFace directory: String) throws(ModelFormatError) {
        let fields = try ConfigFields.decode(SlidingWindowFields.self, directory: directory)
        let file = directory + "/config.json"
        if Self.everyLayerSlidingTypes.contains(architecture), let window = fields.slidingWindow {
            try useSlidingWindow(window, key: "sliding_window", file: file)
        } else if architecture.hasPrefix("qwen"), fields.useSlidingWindow == true {
            throw ModelFormatError("'\(file)': use_sliding_window (sliding-window attention on the layers from max_window_layers on) is not supported")
        }
    }

    /// Every layer attends to the last `window` positions only (its own included: transformers masks keys `window`
    /// or more positions back). A window of 0 means none (the Phi-4 convention); one at least as long as the context
    /// changes nothing. The KV cache then holds only each sequence's window (one sliding-window group).
    mutating func useSlidingWindow(_ window: Int, key: String, file: String) throws(ModelFormatError) {
        guard window > 0 else { return }
        try HyperParameterCheck(file: file).size(key, window, max: HyperParameterCheck.maxPositions)
        slidingWindow = window < maxPositions ? window : nil
    }
}
