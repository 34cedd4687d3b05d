import Foundation

/// Sampling defaults a model ships in `generation_config.json`.
public struct GenerationConfig: Sendable, Decodable, Equatable {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var repetitionPenalty: Double?
    public var maxNewTokens: Int?
    public var eosTokenID: HuggingFaceConfig.IntOrList?

    enum CodingKeys: String, CodingKey {
        case temperature, topP = "top_p", topK = "top_k", minP = "min_p", repetitionPenalty = "repetition_penalty"
        case maxNewTokens = "max_new_tokens", eosTokenID = "eos_token_id"
    }

    public init() {}

    /// Reads `generation_config.json` from a model directory; nil when the file is absent.
    public static func load(directory: String) throws(ModelFormatError) -> GenerationConfig? {
        let path = directory + "/generation_config.json"
        guard let data = try MappedFile.contents(of: path) else { return nil }
        do {
            return try JSONDecoder().decode(GenerationConfig.self, from: Data(data))
        } catch {
            throw ModelFormatError("'\(path)' is not a valid generation config: \(ModelFormatError.describe(error))")
        }
    }
}
