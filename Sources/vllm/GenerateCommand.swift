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

    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.")
    var maxTokens: Int = 16

    @Option(name: .long, help: "Sampling temperature; 0 is greedy.")
    var temperature: Double = 1.0

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass in (0, 1].")
    var topP: Double = 1.0

    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens (0 disables).")
    var topK: Int = 0

    @Flag(name: .customLong("ignore-eos"), help: "Keep generating past end-of-sequence tokens.")
    var ignoreEOS = false

    @OptionGroup var engine: EngineArguments

    func validate() throws {
        guard (prompt == nil) != (input == nil) else { throw ValidationError("give exactly one of --prompt and --input") }
        if output != nil && input == nil { throw ValidationError("--output goes with --input") }
    }

    /// The command-line sampling flags, the defaults of every request.
    func defaultParameters() throws -> SamplingParameters {
        var parameters = SamplingParameters(temperature: temperature, topP: topP, topK: topK, maxTokens: maxTokens, seed: engine.seed)
        parameters.ignoreEOS = ignoreEOS
        do { try parameters.validate() } catch { throw ValidationError(error.message) }
        return parameters
    }

    func run() throws {
        let defaults = try defaultParameters()
        let start = Date()
        let llm = try LLM(model: model, options: try engine.options())
        Log.info(String(format: "loaded %@ (%@, %d layers) in %.2f s; KV cache %d blocks (%d tokens)", model ?? DefaultModel.fileName,
                        llm.model.weightTypeDescription, llm.model.configuration.layerCount, Date().timeIntervalSince(start),
                        llm.core.kvCacheBlockCount, llm.core.kvCacheTokenCount))
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
