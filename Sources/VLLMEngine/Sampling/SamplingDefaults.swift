import Foundation
import VLLMJSON
import VLLMModelFormats

/// The sampling defaults a model's creator recommends, from its `generation_config.json` (vLLM's
/// `--generation-config`, `auto` by default): requests that leave `temperature`, `top_p`, `top_k`, `min_p` or
/// `repetition_penalty` out get these values instead of vLLM's neutral ones, and `max_new_tokens` caps
/// `max_tokens` (vLLM's `get_diff_sampling_param` and `get_max_tokens`). Every field nil: vLLM's own defaults.
public struct SamplingDefaults: Sendable, Equatable {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var repetitionPenalty: Double?
    /// `max_new_tokens`: the most tokens any request may generate.
    public var maxTokens: Int?

    public init() {}

    /// The fields vLLM takes from a generation config (the rest, such as `do_sample` or `eos_token_id`, are not
    /// sampling defaults).
    public init(_ config: GenerationConfig) {
        temperature = config.temperature
        topP = config.topP
        topK = config.topK
        minP = config.minP
        repetitionPenalty = config.repetitionPenalty
        maxTokens = config.maxNewTokens
    }

    /// No default differs from vLLM's.
    public var isEmpty: Bool { self == SamplingDefaults() }

    /// The keys `--override-generation-config` takes: the generation config's own names.
    public static let overrideKeys = ["temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_new_tokens"]

    /// Resolves `--generation-config` (`auto`: the model folder's `generation_config.json` when there is one, GGUF
    /// files carry none; `vllm`: none; else a folder that must hold `generation_config.json`), then applies
    /// `--override-generation-config`, a JSON object of `overrideKeys`.
    public static func resolve(_ setting: String, override: String? = nil, modelDirectory: String?) throws -> SamplingDefaults {
        var defaults = SamplingDefaults()
        switch setting {
        case "auto":
            if let modelDirectory, let config = try GenerationConfig.load(directory: modelDirectory) { defaults = SamplingDefaults(config) }
        case "vllm":
            break
        default:
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: setting, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw EngineError("--generation-config must be auto, vllm or a folder holding generation_config.json; '\(setting)' is not a folder")
            }
            guard let config = try GenerationConfig.load(directory: setting) else {
                throw EngineError("--generation-config '\(setting)': the folder has no generation_config.json")
            }
            defaults = SamplingDefaults(config)
        }
        if let override { try defaults.apply(override: override) }
        return defaults
    }

    /// Sets the fields an `--override-generation-config` object names; any other key is refused by name.
    mutating func apply(override text: String) throws {
        guard let value = try? JSONParser.parse(Data(text.utf8)), let object = value.object else {
            throw EngineError("--override-generation-config must be a JSON object, e.g. '{\"temperature\": 0.5}', got '\(text)'")
        }
        for (key, v) in object {
            func number() throws -> Double {
                guard let n = v.number else { throw EngineError("--override-generation-config: \(key) must be a number") }
                return n
            }
            func integer() throws -> Int {
                guard let n = v.number, let i = Int(exactly: n) else { throw EngineError("--override-generation-config: \(key) must be an integer") }
                return i
            }
            switch key {
            case "temperature": temperature = try number()
            case "top_p": topP = try number()
            case "top_k": topK = try integer()
            case "min_p": minP = try number()
            case "repetition_penalty": repetitionPenalty = try number()
            case "max_new_tokens": maxTokens = try integer()
            default:
                throw EngineError("--override-generation-config: unknown key '\(key)'; it takes \(Self.overrideKeys.joined(separator: ", "))")
            }
        }
    }

    /// vLLM's defaults with these in their place (vLLM's `LLM.get_default_sampling_params`).
    public var parameters: SamplingParameters { applied(to: SamplingParameters()) }

    /// `base` with every field set here in its place.
    public func applied(to base: SamplingParameters) -> SamplingParameters {
        var p = base
        p.temperature = temperature ?? p.temperature
        p.topP = topP ?? p.topP
        p.topK = topK ?? p.topK
        p.minP = minP ?? p.minP
        p.repetitionPenalty = repetitionPenalty ?? p.repetitionPenalty
        p.maxTokens = maxTokens ?? p.maxTokens
        return p
    }

    /// A request's `max_tokens` under the `max_new_tokens` cap: the smaller of the two, nil when neither is given
    /// (the context's remainder then, as vLLM's `get_max_tokens`).
    public func cappedMaxTokens(_ requested: Int?) -> Int? {
        guard let maxTokens else { return requested }
        return min(requested ?? maxTokens, maxTokens)
    }

    /// The set fields as vLLM's log shows them: `{'temperature': 0.7, 'top_p': 0.8}`.
    public var description: String {
        let fields: [(String, String?)] = [("repetition_penalty", repetitionPenalty.map { "\($0)" }), ("temperature", temperature.map { "\($0)" }),
                                           ("top_k", topK.map(String.init)), ("top_p", topP.map { "\($0)" }), ("min_p", minP.map { "\($0)" }),
                                           ("max_tokens", maxTokens.map(String.init))]
        return "{" + fields.compactMap { name, value in value.map { "'\(name)': \($0)" } }.joined(separator: ", ") + "}"
    }
}
