import ArgumentParser
import Foundation
import VLLMEngine
import VLLMModels

/// `vllm bench latency|throughput|serve|grammar`: vLLM's offline benchmarks, with its definitions and flag names.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmark the engine offline.",
        subcommands: [BenchThroughput.self, BenchLatency.self, BenchServe.self, BenchGrammar.self])
}

/// Options both offline benchmarks share.
struct BenchWorkload: ParsableArguments {
    @Option(name: .long, help: "Model (default: SmolLM2-135M-Instruct).")
    var model: String?

    @Option(name: .customLong("input-len"), help: "Prompt length in tokens (random ids).")
    var inputLen: Int = 128

    @Option(name: .customLong("output-len"), help: "Generated tokens per request (EOS ignored).")
    var outputLen: Int = 128

    @Option(name: .customLong("output-json"), help: "Also write the results as JSON to this file.")
    var outputJSON: String?

    func validate() throws {
        guard inputLen >= 1, outputLen >= 1 else { throw ValidationError("--input-len and --output-len must be at least 1") }
    }

    /// Random prompts of `inputLen` token ids, the same for a given seed (vLLM's random dataset).
    func prompts(count: Int, vocabulary: Int, seed: UInt64) -> [[Int32]] {
        var generator = RandomGenerator(seed: seed)
        let low = min(1000, vocabulary / 2)
        return (0..<count).map { _ in (0..<inputLen).map { _ in Int32(low + Int(generator.next() % UInt64(vocabulary - low))) } }
    }

    var parameters: SamplingParameters {
        var p = SamplingParameters(temperature: 1.0, topP: 1.0, maxTokens: outputLen, seed: 0)
        p.ignoreEOS = true
        return p
    }

    func write(_ object: [String: Any]) throws {
        guard let outputJSON else { return }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: outputJSON))
    }
}

struct BenchThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "throughput", abstract: "Requests and tokens per second over a fixed set of prompts.")

    @Option(name: .customLong("num-prompts"), help: "Number of requests.")
    var numPrompts: Int = 64

    @OptionGroup var workload: BenchWorkload
    @OptionGroup var engine: EngineArguments

    func run() throws {
        let llm = try LLM(model: workload.model, options: try engine.options())
        let prompts = workload.prompts(count: numPrompts, vocabulary: llm.model.configuration.vocabularySize, seed: engine.seed ?? 0)
        let start = Date()
        let results = try llm.generate(promptTokenIDs: prompts, workload.parameters)
        let elapsed = Date().timeIntervalSince(start)
        let promptTokens = results.reduce(0) { $0 + $1.promptTokenIDs.count }
        let outputTokens = results.reduce(0) { $0 + $1.outputs.reduce(0) { $0 + $1.tokenIDs.count } }
        print(String(format: "Throughput: %.2f requests/s, %.2f total tokens/s, %.2f output tokens/s",
                     Double(numPrompts) / elapsed, Double(promptTokens + outputTokens) / elapsed, Double(outputTokens) / elapsed))
        print("Total num prompt tokens:  \(promptTokens)")
        print("Total num output tokens:  \(outputTokens)")
        printProfile(llm)
        try workload.write(["elapsed_time": elapsed, "num_requests": numPrompts, "total_num_tokens": promptTokens + outputTokens,
                            "requests_per_second": Double(numPrompts) / elapsed,
                            "tokens_per_second": Double(promptTokens + outputTokens) / elapsed,
                            "output_tokens_per_second": Double(outputTokens) / elapsed])
    }
}

struct BenchLatency: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency", abstract: "End-to-end time of one batch, with percentiles.")

    @Option(name: .customLong("batch-size"), help: "Requests in the batch.")
    var batchSize: Int = 8

    @Option(name: .customLong("num-iters-warmup"), help: "Untimed iterations first.")
    var numItersWarmup: Int = 2

    @Option(name: .customLong("num-iters"), help: "Timed iterations.")
    var numIters: Int = 5

    @OptionGroup var workload: BenchWorkload
    @OptionGroup var engine: EngineArguments

    func run() throws {
        var options = try engine.options()
        options.enablePrefixCaching = false  // every iteration computes its prompts, as vLLM's latency bench does
        let llm = try LLM(model: workload.model, options: options)
        let prompts = workload.prompts(count: batchSize, vocabulary: llm.model.configuration.vocabularySize, seed: engine.seed ?? 0)
        for _ in 0..<numItersWarmup { _ = try llm.generate(promptTokenIDs: prompts, workload.parameters) }
        var latencies: [Double] = []
        for _ in 0..<numIters {
            let start = Date()
            _ = try llm.generate(promptTokenIDs: prompts, workload.parameters)
            latencies.append(Date().timeIntervalSince(start))
        }
        let sorted = latencies.sorted()
        let average = latencies.reduce(0, +) / Double(max(1, latencies.count))
        print(String(format: "Avg latency: %.6f seconds", average))
        var percentiles: [String: Double] = [:]
        for p in [10, 25, 50, 75, 90, 99] {
            let value = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(p) / 100 * Double(sorted.count - 1)).rounded()))]
            percentiles[String(p)] = value
            print(String(format: "%d%% percentile latency: %.6f seconds", p, value))
        }
        printProfile(llm)
        try workload.write(["avg_latency": average, "latencies": latencies, "percentiles": percentiles])
    }
}

/// The `--profile` table, and under tensor parallelism rank 0's collectives, on stderr so that stdout stays the
/// benchmark's own output.
func printProfile(_ llm: LLM) {
    if let parallel = llm.model as? TensorParallelModel {
        let s = parallel.communicator.statistics
        FileHandle.standardError.write(Data(String(
            format: "tensor parallel (rank 0 of %d): %d all-reduces of %.1f MB in %.1f ms (%.1f us each with the waits for the slower rank, the fastest %.1f us); %d logit gathers in %.1f ms; %d step broadcasts of %.1f KB in %.1f ms\n",
            parallel.communicator.size, s.allReduces, Double(s.allReducedFloats * 4) / 1e6, s.allReduceSeconds * 1e3,
            s.allReduceSeconds * 1e6 / Double(max(1, s.allReduces)), s.allReduces == 0 ? 0 : s.allReduceMinSeconds * 1e6, s.gathers, s.gatherSeconds * 1e3, s.broadcasts,
            Double(s.broadcastBytes) / 1e3, s.broadcastSeconds * 1e3).utf8))
    }
    EngineArguments.reportProfile(llm.model)
}
