import Foundation
import VLLMKernels
import VLLMModelFormats

extension BertModel {
    /// BERT-family encoders from Hugging Face folders (sentence-transformers' included) and their GGUF conversions
    /// (`convert_hf_to_gguf.py`, architecture `bert`).
    public static let architecture = ModelArchitecture(
        name: "bert", ggufNames: ["bert"],
        huggingFaceNames: ["BertModel", "BertForMaskedLM", "BertForPreTraining", "BertLMHeadModel"],
        fromGGUF: { file, pool, dtype, _ throws(ModelFormatError) in
            let h = try Hyper(gguf: file)
            return try BertModel(configuration: h.configuration, layerNormEps: h.layerNormEps, typeVocabularySize: h.typeVocabularySize,
                                 store: try WeightStore(gguf: file), storage: [file], pool: pool, dtype: dtype)
        },
        fromHuggingFace: { _, directory, pool, dtype, _ throws(ModelFormatError) in
            let h = try Hyper(huggingFaceDirectory: directory)
            let checkpoint = try SafetensorsCheckpoint(directory: directory)
            // `BertForMaskedLM` and friends keep the encoder under `bert.` beside heads the encoder does not use.
            let prefix = checkpoint.tensor(named: "bert.embeddings.word_embeddings.weight") != nil ? "bert." : ""
            let store = try WeightStore(safetensors: checkpoint, directory: directory, names: { BertLayer.huggingFaceName($0, prefix: prefix) },
                                        ignoring: ["position_ids", "pooler.dense.weight", "pooler.dense.bias"]
                                            + (prefix.isEmpty ? [] : checkpoint.tensorNames.filter { $0.hasPrefix("cls.") }))
            return try BertModel(configuration: h.configuration, layerNormEps: h.layerNormEps, typeVocabularySize: h.typeVocabularySize,
                                 store: store, storage: checkpoint.files, pool: pool, dtype: dtype)
        })

    /// The hyper-parameters of a BERT checkpoint.
    struct Hyper {
        var configuration: ModelConfiguration
        var layerNormEps: Float
        var typeVocabularySize: Int

        /// The fields of a BERT `config.json` (snake_case as in the file).
        private struct HuggingFaceFields: Decodable {
            var hidden_size: Int, intermediate_size: Int, num_hidden_layers: Int, num_attention_heads: Int, vocab_size: Int
            var max_position_embeddings: Int?, type_vocab_size: Int?, layer_norm_eps: Double?, hidden_act: String?
            var position_embedding_type: String?
        }

        init(huggingFaceDirectory directory: String) throws(ModelFormatError) {
            let path = directory + "/config.json"
            let fields: HuggingFaceFields
            do {
                guard let data = try MappedFile.contents(of: path) else { throw ModelFormatError("'\(directory)' has no readable config.json") }
                fields = try JSONDecoder().decode(HuggingFaceFields.self, from: Data(data))
            } catch let error as ModelFormatError {
                throw error
            } catch {
                throw ModelFormatError("'\(path)' is not a valid BERT config: \(error)")
            }
            if let act = fields.hidden_act, act != "gelu" {
                throw ModelFormatError("'\(path)': hidden_act '\(act)' is not supported for BERT (gelu is)")
            }
            if let kind = fields.position_embedding_type, kind != "absolute" {
                throw ModelFormatError("'\(path)': position_embedding_type '\(kind)' is not supported for BERT (absolute is)")
            }
            try self.init(file: path, hidden: fields.hidden_size, intermediate: fields.intermediate_size, layers: fields.num_hidden_layers,
                          heads: fields.num_attention_heads, vocabulary: fields.vocab_size, maxPositions: fields.max_position_embeddings ?? 512,
                          eps: fields.layer_norm_eps ?? 1e-12, typeVocabulary: fields.type_vocab_size ?? 2, keys: Keys.huggingFace)
        }

        init(gguf: GGUFFile) throws(ModelFormatError) {
            let file = gguf.file.path
            func int(_ key: String) throws(ModelFormatError) -> Int {
                guard let v = gguf.metadata["bert.\(key)"]?.int else { throw ModelFormatError("'\(file)' is missing the integer metadata key bert.\(key)") }
                return v
            }
            guard let eps = gguf.metadata["bert.attention.layer_norm_epsilon"]?.double else {
                throw ModelFormatError("'\(file)' is missing bert.attention.layer_norm_epsilon")
            }
            let vocabulary = gguf.metadata["tokenizer.ggml.tokens"]?.array?.count ?? gguf.tensor(named: "token_embd.weight")?.shape.last ?? 0
            let typeVocabulary = gguf.tensor(named: "token_types.weight")?.shape.last ?? 2
            try self.init(file: file, hidden: try int("embedding_length"), intermediate: try int("feed_forward_length"),
                          layers: try int("block_count"), heads: try int("attention.head_count"), vocabulary: vocabulary,
                          maxPositions: try int("context_length"), eps: eps, typeVocabulary: typeVocabulary, keys: Keys.gguf)
        }

        /// The key names errors give, per format.
        private struct Keys {
            var hidden, intermediate, layers, heads, vocabulary, maxPositions, eps: String
            static let huggingFace = Keys(hidden: "hidden_size", intermediate: "intermediate_size", layers: "num_hidden_layers",
                                          heads: "num_attention_heads", vocabulary: "vocab_size", maxPositions: "max_position_embeddings",
                                          eps: "layer_norm_eps")
            static let gguf = Keys(hidden: "bert.embedding_length", intermediate: "bert.feed_forward_length", layers: "bert.block_count",
                                   heads: "bert.attention.head_count", vocabulary: "tokenizer.ggml.tokens", maxPositions: "bert.context_length",
                                   eps: "bert.attention.layer_norm_epsilon")
        }

        private init(file: String, hidden: Int, intermediate: Int, layers: Int, heads: Int, vocabulary: Int, maxPositions: Int,
                     eps: Double, typeVocabulary: Int, keys: Keys) throws(ModelFormatError) {
            let check = HyperParameterCheck(file: file)
            try check.common(hidden: (keys.hidden, hidden), intermediate: (keys.intermediate, intermediate), layers: (keys.layers, layers),
                             heads: (keys.heads, heads), kvHeads: (keys.heads, heads), vocabulary: (keys.vocabulary, vocabulary),
                             maxPositions: (keys.maxPositions, maxPositions), rmsNormEps: (keys.eps, 1e-6), ropeTheta: ("rope_theta", 10000))
            try check.number(keys.eps, eps, above: 1e-30, below: 1)  // BERT's 1e-12 is below the RMS-norm floor
            try check.multiple(keys.hidden, hidden, of: keys.heads, heads)
            try check.headDim(keys.hidden + " / " + keys.heads, hidden / heads)
            try check.size("type_vocab_size", typeVocabulary, max: 1 << 16)
            configuration = ModelConfiguration(architecture: "bert", hiddenSize: hidden, intermediateSize: intermediate, layerCount: layers,
                                               headCount: heads, kvHeadCount: heads, headDim: hidden / heads, vocabularySize: vocabulary,
                                               maxPositions: maxPositions, rmsNormEps: Float(eps))
            layerNormEps = Float(eps)
            typeVocabularySize = typeVocabulary
        }
    }
}
