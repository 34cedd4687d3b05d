import ArgumentParser
import Foundation
import VLLMEngine

/// `vllm embed`: one text per stdin line → one JSON line per input, `{"index": i, "embedding": [...]}`, in order.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed each line of stdin with a pooling model and print one JSON line per input ({\"index\", \"embedding\"}).")

    @Option(name: .long, help: "Embedding model: a Hugging Face folder (sentence-transformers' included), a GGUF file, or org/name.")
    var model: String

    @Option(name: .long, help: "Keep the first N values of each vector (Matryoshka models only).")
    var dimensions: Int?

    @Flag(name: .customLong("no-truncate"), help: "Refuse inputs longer than the model length instead of truncating them as sentence-transformers does.")
    var noTruncate = false

    @Option(name: .customLong("batch-size"), help: "Inputs queued at once (the scheduler batches them within --max-num-batched-tokens).")
    var batchSize: Int = 256

    @OptionGroup var engine: EngineArguments

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        var options = try engine.options()
        if options.runner == .auto { options.runner = .pooling }
        let llm = try LLM(model: model, options: options)
        let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var index = 0
        for start in stride(from: 0, to: lines.count, by: batchSize) {
            let batch = Array(lines[start..<min(lines.count, start + batchSize)])
            for result in try llm.embed(batch, PoolingParameters(dimensions: dimensions), truncate: !noTruncate) {
                let values = result.embedding.map { "\($0)" }.joined(separator: ",")
                print("{\"index\":\(index),\"embedding\":[\(values)]}")
                index += 1
            }
        }
        EngineArguments.reportProfile(llm.model)
    }
}
