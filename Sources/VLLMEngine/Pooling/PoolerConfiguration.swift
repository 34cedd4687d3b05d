import Foundation
import VLLMModelFormats

/// How a pooling model turns a sequence's hidden states into one vector (vLLM's `PoolerConfig`, `--pooler-config`).
public struct PoolerConfiguration: Sendable, Equatable {
    /// Which hidden states make the vector.
    public enum PoolingType: String, Sendable, CaseIterable {
        /// The first token's (BERT's `[CLS]`).
        case cls = "CLS"
        /// The mean over every token of the sequence (sentence-transformers' `pooling_mode_mean_tokens`).
        case mean = "MEAN"
        /// The last token's (decoder models as embedders, `--convert embed`).
        case last = "LAST"
    }

    public var poolingType: PoolingType
    /// Scale each vector to unit length (sentence-transformers' `Normalize` module).
    public var normalize: Bool
    /// Output sizes the model was trained to be cut to (Matryoshka), from `config.json`'s `matryoshka_dimensions`
    /// (any size up to the hidden size when it sets `is_matryoshka` without a list); nil: `dimensions` is refused.
    public var matryoshkaDimensions: [Int]?

    public init(poolingType: PoolingType, normalize: Bool = true, matryoshkaDimensions: [Int]? = nil) {
        self.poolingType = poolingType
        self.normalize = normalize
        self.matryoshkaDimensions = matryoshkaDimensions
    }

    /// `--pooler-config` JSON (`{"pooling_type": "MEAN", "normalize": false}`) applied over `self`; an unknown key or
    /// pooling type is an error naming what is accepted.
    public func overridden(byJSON text: String) throws -> PoolerConfiguration {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw EngineError("--pooler-config must be a JSON object, e.g. '{\"pooling_type\": \"MEAN\", \"normalize\": true}'")
        }
        var out = self
        for (key, value) in object {
            switch key {
            case "pooling_type":
                guard let name = value as? String, let kind = PoolingType(rawValue: name.uppercased()) else {
                    throw EngineError("--pooler-config: pooling_type must be one of \(PoolingType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                out.poolingType = kind
            case "normalize":
                guard let flag = value as? Bool else { throw EngineError("--pooler-config: normalize must be true or false") }
                out.normalize = flag
            default:
                throw EngineError("--pooler-config: '\(key)' is not supported (pooling_type and normalize are)")
            }
        }
        return out
    }

    /// The pooling a sentence-transformers folder declares (`modules.json`: a `Pooling` module's `config.json`, a
    /// `Normalize` module), or nil when the folder has no `modules.json`.
    public static func sentenceTransformers(directory: String) throws -> PoolerConfiguration? {
        guard let modules = try readJSON(directory + "/modules.json") as? [[String: Any]] else { return nil }
        var pooling: PoolingType? = nil, normalize = false
        for module in modules {
            let type = module["type"] as? String ?? ""
            if type.hasSuffix(".Pooling") {
                let path = directory + "/" + (module["path"] as? String ?? "") + "/config.json"
                guard let config = try readJSON(path) as? [String: Any] else { throw EngineError("'\(path)' is missing or not a JSON object") }
                if config["pooling_mode_cls_token"] as? Bool == true { pooling = .cls }
                else if config["pooling_mode_mean_tokens"] as? Bool == true { pooling = .mean }
                else if config["pooling_mode_lasttoken"] as? Bool == true { pooling = .last }
                else { throw EngineError("'\(path)': only CLS, mean and last-token pooling are supported") }
            } else if type.hasSuffix(".Normalize") {
                normalize = true
            } else if !type.hasSuffix(".Transformer") {
                throw EngineError("'\(directory)/modules.json': module '\(type)' is not supported (Transformer, Pooling and Normalize are)")
            }
        }
        guard let pooling else { return nil }
        return PoolerConfiguration(poolingType: pooling, normalize: normalize)
    }

    /// `max_seq_length` of a sentence-transformers folder's `sentence_bert_config.json`, which caps the model length
    /// (as sentence-transformers and vLLM both read it).
    public static func sentenceTransformersMaxLength(directory: String) throws -> Int? {
        (try readJSON(directory + "/sentence_bert_config.json") as? [String: Any])?["max_seq_length"] as? Int
    }

    /// GGUF's `{arch}.pooling_type` (llama.cpp's enum: 1 mean, 2 CLS, 3 last), nil when absent or none.
    public static func gguf(_ file: GGUFFile) -> PoolerConfiguration? {
        guard let arch = file.metadata["general.architecture"]?.string,
              let kind = file.metadata["\(arch).pooling_type"]?.int else { return nil }
        switch kind {
        case 1: return PoolerConfiguration(poolingType: .mean)
        case 2: return PoolerConfiguration(poolingType: .cls)
        case 3: return PoolerConfiguration(poolingType: .last)
        default: return nil
        }
    }

    /// Matryoshka sizes from a Hugging Face `config.json` (`matryoshka_dimensions`, `is_matryoshka`).
    static func matryoshka(directory: String, hiddenSize: Int) throws -> [Int]? {
        guard let config = try readJSON(directory + "/config.json") as? [String: Any] else { return nil }
        if let list = config["matryoshka_dimensions"] as? [Int] { return list }
        if config["is_matryoshka"] as? Bool == true { return Array(1...hiddenSize) }
        return nil
    }

    private static func readJSON(_ path: String) throws -> Any? {
        guard let bytes = try MappedFile.contents(of: path, limit: 1 << 24) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) else { throw EngineError("'\(path)' is not valid JSON") }
        return object
    }
}
