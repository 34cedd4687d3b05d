import ArgumentParser
import Foundation
import VLLMEngine

/// `vllm generate`: complete a prompt offline and print only the generated text on stdout.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a completion offline; prints only the generated text (logs go to stderr).")

    @Option(name: .long, help: "A GGUF file, a Hugging Face model directory, or org/name in the local HF cache (default: SmolLM2-135M-Instruct).")
    var model: String?

    @Option(name: .long, help: "The prompt text.")
    var prompt: String

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

    func run() throws {
        var parameters = SamplingParameters(temperature: temperature, topP: topP, topK: topK, maxTokens: maxTokens, seed: engine.seed)
        parameters.ignoreEOS = ignoreEOS
        do {
            try parameters.validate()
        } catch {
            throw ValidationError(error.message)
        }
        let start = Date()
        let llm = try LLM(model: model, options: try engine.options())
        Log.info(String(format: "loaded %@ (%@, %d layers) in %.2f s", model ?? DefaultModel.fileName,
                        llm.model.weightTypeDescription, llm.model.configuration.layerCount, Date().timeIntervalSince(start)))
        let began = Date()
        let result = try llm.generate(prompt, parameters) { piece in
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        let output = result.outputs[0]
        if isatty(STDOUT_FILENO) != 0 { FileHandle.standardOutput.write(Data("\n".utf8)) }
        let seconds = Date().timeIntervalSince(began)
        Log.info(String(format: "%d prompt + %d generated tokens in %.3f s (finish: %@)", result.promptTokenIDs.count,
                        output.tokenIDs.count, seconds, output.finishReason.rawValue))
    }
}

/// Log lines go to stderr so that stdout carries only results.
enum Log {
    static func info(_ message: String) {
        FileHandle.standardError.write(Data("INFO \(message)\n".utf8))
    }
}
