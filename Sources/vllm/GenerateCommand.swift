import ArgumentParser
import Foundation
import VLLMEngine

/// `vllm generate`: offline generation, either one `--prompt` (only the generated text on stdout) or a
/// JSONL file of requests (`--input`, results as JSONL in input order to `--output` or stdout).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate offline: one --prompt (prints only the generated text), or a JSONL --input file.")

    @Option(name: .long, help: "A GGUF file, a Hugging Face model directory, or org/name in the local HF cache (default: SmolLM2-135M-Instruct).")
    var model: String?

    @Option(name: .long, help: "The prompt text (special-token text such as <|im_start|> is read as that token, as /v1/completions reads it).")
    var prompt: String?

    @Option(name: .long, help: "JSONL file: one object a line with \"prompt\" (or \"prompt_token_ids\") plus any sampling field.")
    var input: String?

    @Option(name: .long, help: "Where to write results (JSONL); default stdout.")
    var output: String?

    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate (default 16, or the generation config's max_new_tokens).")
    var maxTokens: Int?

    @Option(name: .long, help: "Sampling temperature; 0 is greedy (default 1, or the model's generation config's).")
    var temperature: Double?

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass in (0, 1] (default 1, or the generation config's).")
    var topP: Double?

    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens; 0 disables (default, or the generation config's).")
    var topK: Int?

    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than min_p times the most likely one, in [0, 1] (default 0, or the generation config's).")
    var minP: Double?

    @Option(name: .customLong("repetition-penalty"), help: "Divide (multiply, when negative) the logits of tokens already seen by this; 1 is none (default, or the generation config's).")
    var repetitionPenalty: Double?

    @Flag(name: .customLong("ignore-eos"), help: "Keep generating past end-of-sequence tokens.")
    var ignoreEOS = false

    @OptionGroup var engine: EngineArguments

    func validate() throws {
        guard (prompt == nil) != (input == nil) else { throw ValidationError("give exactly one of --prompt and --input") }
        if output != nil && input == nil { throw ValidationError("--output goes with --input") }
    }

    /// The command-line sampling flags over the model's defaults (`model`: vLLM's, with the generation config's in
    /// their place), the defaults of every request.
    func defaultParameters(model: SamplingParameters = SamplingParameters()) throws -> SamplingParameters {
        var flags = SamplingDefaults()
        (flags.temperature, flags.topP, flags.topK, flags.minP) = (temperature, topP, topK, minP)
        (flags.repetitionPenalty, flags.maxTokens) = (repetitionPenalty, maxTokens)
        var parameters = flags.applied(to: model)
        parameters.seed = engine.seed
        parameters.ignoreEOS = ignoreEOS
        do { try parameters.validate() } catch { throw ValidationError(error.message) }
        return parameters
    }

    func run() throws {
        _ = try defaultParameters()  // bad flags fail before the model loads
        let start = Date()
        let llm = try LLM(model: model, options: try engine.options())
        if !llm.core.samplingDefaults.isEmpty {
            Log.info("sampling defaults from the model's generation config: \(llm.core.samplingDefaults.description) (--generation-config vllm for vLLM's own)")
        }
        let defaults = try defaultParameters(model: llm.defaultSamplingParameters())
        Log.info(String(format: "loaded %@ (%@, %d layers) in %.2f s; KV cache %d blocks (%d tokens)", model ?? DefaultModel.fileName,
                        llm.model.weightTypeDescription, llm.model.configuration.layerCount, Date().timeIntervalSince(start),
                        llm.core.kvCacheBlockCount, llm.core.kvCacheTokenCount))
        defer { EngineArguments.reportProfile(llm.model) }
        if let input {
            try BatchGeneration(llm: llm, defaults: defaults).run(inputPath: input, outputPath: output)
            return
        }
        let began = Date()
        let result = try llm.generate(prompt ?? "", defaults) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        if isatty(STDOUT_FILENO) != 0 { FileHandle.standardOutput.write(Data("\n".utf8)) }
        let output = result.outputs[0]
        Log.info(String(format: "%d prompt + %d generated tokens in %.3f s (finish: %@)", result.promptTokenIDs.count,
                        output.tokenIDs.count, Date().timeIntervalSince(began), output.finishReason.rawValue))
    }
}

/// Log lines go to stderr so that stdout carries only results.
enum Log {
    static func info(_ message: String) {
        FileHandle.standardError.write(Data("INFO \(message)\n".utf8))
    }
}
