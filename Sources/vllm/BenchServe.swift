import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vllm bench serve`: a load client for any OpenAI-compatible server, with vLLM's figures (request and output-token
/// throughput; mean, median and p99 TTFT, TPOT, ITL and E2EL).
struct BenchServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Benchmark a running OpenAI-compatible server.")

    @Option(name: .customLong("base-url"), help: "Server address.")
    var baseURL = "http://127.0.0.1:8000"

    @Option(name: .long, help: "Model name to send (default: the server's first model).")
    var model: String?

    @Option(name: .customLong("num-prompts"), help: "Number of requests.")
    var numPrompts = 100

    @Option(name: .customLong("max-concurrency"), help: "Requests in flight at most (default: all at once).")
    var maxConcurrency: Int?

    @Option(name: .customLong("request-rate"), help: "Requests per second, Poisson arrivals (default: inf).")
    var requestRate: Double = .infinity

    @Option(name: .customLong("random-input-len"), help: "Words per random prompt.")
    var randomInputLen = 100

    @Option(name: .customLong("random-output-len"), help: "max_tokens per request (EOS ignored).")
    var randomOutputLen = 128

    @Option(name: .long, help: "Seed for prompts and arrivals.")
    var seed: UInt64 = 0

    @Option(name: .customLong("output-json"), help: "Also write the results as JSON to this file.")
    var outputJSON: String?

    @Option(name: .customLong("dataset-name"), help: "The prompts: random (random words, --random-input-len each), the only dataset built in.")
    var datasetName = "random"

    @Option(name: .long, help: "Server host, with --port, instead of --base-url (vLLM's bench flags).")
    var host: String?

    @Option(name: .long, help: "Server port, with --host.")
    var port: Int?

    func validate() throws {
        guard datasetName == "random" else {
            throw ValidationError("--dataset-name \(datasetName) is not built in (no dataset can be downloaded here): use --dataset-name random with --random-input-len and --random-output-len")
        }
    }

    /// `--base-url` without a trailing `/` or `/v1` (vLLM's tools accept both spellings), or `--host`/`--port`.
    var server: String {
        if host != nil || port != nil { return "http://\(host ?? "127.0.0.1"):\(port ?? 8000)" }
        return Self.serverRoot(baseURL)
    }

    /// A server address as people write it (`http://host:8000`, `.../`, `.../v1`) reduced to its root.
    static func serverRoot(_ url: String) -> String {
        var root = url
        while root.hasSuffix("/") { root.removeLast() }
        if root.hasSuffix("/v1") { root.removeLast(3) }
        return root
    }

    func run() async throws {
        let baseURL = server
        let served: String
        if let model { served = model } else { served = try await Self.firstModel(baseURL) }
        let prompts = Self.prompts(count: numPrompts, words: randomInputLen, seed: seed)
        let limit = maxConcurrency ?? numPrompts
        var generator = SplitMix(seed: seed &+ 1)
        let started = Date()
        let timings = await withTaskGroup(of: StreamTiming.self) { group -> [StreamTiming] in
            var results: [StreamTiming] = []
            var inFlight = 0
            for prompt in prompts {
                if inFlight >= limit, let done = await group.next() { results.append(done); inFlight -= 1 }
                if requestRate.isFinite {
                    let gap = -log(1 - generator.nextUnit()) / requestRate
                    try? await Task.sleep(nanoseconds: UInt64(gap * 1e9))
                }
                let request = try! Self.request(baseURL: baseURL, model: served, prompt: prompt, maxTokens: randomOutputLen)
                group.addTask { await StreamingRequest.run(request) }
                inFlight += 1
            }
            for await done in group { results.append(done) }
            return results
        }
        report(timings, duration: Date().timeIntervalSince(started), model: served)
    }

    static func firstModel(_ baseURL: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: baseURL + "/v1/models")!)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let id = (object["data"] as? [[String: Any]])?.first?["id"] as? String
        else { throw ValidationError("\(baseURL)/v1/models returned no model; pass --model") }
        return id
    }

    static func request(baseURL: String, model: String, prompt: String, maxTokens: Int) throws -> URLRequest {
        var request = URLRequest(url: URL(string: baseURL + "/v1/completions")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.timeoutInterval = 3600
        let body: [String: Any] = ["model": model, "prompt": prompt, "max_tokens": maxTokens, "stream": true, "ignore_eos": true,
                                   "temperature": 0, "stream_options": ["include_usage": true]]
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        return request
    }

    /// Random English-like prompts of `words` words (the same for a given seed).
    static func prompts(count: Int, words: Int, seed: UInt64) -> [String] {
        let vocabulary = ["the", "model", "serves", "tokens", "quickly", "while", "blocks", "of", "memory", "are", "shared",
                          "between", "requests", "and", "a", "scheduler", "decides", "which", "ones", "run", "next", "on",
                          "every", "step", "cache", "prefix", "paged", "attention", "keeps", "throughput", "high", "for",
                          "many", "users", "at", "once", "without", "waste", "river", "mountain", "city", "story"]
        var generator = SplitMix(seed: seed)
        return (0..<count).map { _ in (0..<words).map { _ in vocabulary[Int(generator.next() % UInt64(vocabulary.count))] }.joined(separator: " ") }
    }

    func report(_ timings: [StreamTiming], duration: Double, model: String) {
        let ok = timings.filter(\.ok)
        let output = ok.reduce(0) { $0 + $1.outputTokens }, input = ok.reduce(0) { $0 + $1.promptTokens }
        func stats(_ values: [Double]) -> (mean: Double, median: Double, p99: Double) {
            guard !values.isEmpty else { return (0, 0, 0) }
            let sorted = values.sorted()
            let p99 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
            return (values.reduce(0, +) / Double(values.count), sorted[sorted.count / 2], p99)
        }
        let ttft = stats(ok.map(\.ttft)), itl = stats(ok.flatMap(\.itl)), e2el = stats(ok.map(\.latency))
        let tpot = stats(ok.filter { $0.outputTokens > 1 }.map { ($0.latency - $0.ttft) / Double($0.outputTokens - 1) })
        var lines = ["============ Serving Benchmark Result ============"]
        func row(_ name: String, _ value: String) { lines.append(name.padding(toLength: 40, withPad: " ", startingAt: 0) + value) }
        row("Successful requests:", "\(ok.count)")
        row("Failed requests:", "\(timings.count - ok.count)")
        row("Maximum request concurrency:", maxConcurrency.map(String.init) ?? "unlimited")
        row("Benchmark duration (s):", String(format: "%.2f", duration))
        row("Total input tokens:", "\(input)")
        row("Total generated tokens:", "\(output)")
        row("Request throughput (req/s):", String(format: "%.2f", Double(ok.count) / duration))
        row("Output token throughput (tok/s):", String(format: "%.2f", Double(output) / duration))
        row("Total token throughput (tok/s):", String(format: "%.2f", Double(input + output) / duration))
        for (name, s) in [("TTFT", ttft), ("TPOT", tpot), ("ITL", itl), ("E2EL", e2el)] {
            row("Mean \(name) (ms):", String(format: "%.2f", s.mean * 1000))
            row("Median \(name) (ms):", String(format: "%.2f", s.median * 1000))
            row("P99 \(name) (ms):", String(format: "%.2f", s.p99 * 1000))
        }
        lines.append("==================================================")
        print(lines.joined(separator: "\n"))
        if let first = timings.first(where: { !$0.ok }) { FileHandle.standardError.write(Data("first failure: \(first.error ?? "?")\n".utf8)) }
        if let outputJSON {
            var object: [String: Any] = [
                "completed": ok.count, "failed": timings.count - ok.count, "duration": duration, "total_input_tokens": input,
                "total_output_tokens": output, "request_throughput": Double(ok.count) / duration,
                "output_throughput": Double(output) / duration,
                "mean_ttft_ms": ttft.mean * 1000, "median_ttft_ms": ttft.median * 1000, "p99_ttft_ms": ttft.p99 * 1000,
                "mean_tpot_ms": tpot.mean * 1000, "median_tpot_ms": tpot.median * 1000, "p99_tpot_ms": tpot.p99 * 1000,
                "mean_itl_ms": itl.mean * 1000, "median_itl_ms": itl.median * 1000, "p99_itl_ms": itl.p99 * 1000,
                "mean_e2el_ms": e2el.mean * 1000, "median_e2el_ms": e2el.median * 1000, "p99_e2el_ms": e2el.p99 * 1000,
                // What was run, so a results file stands on its own.
                "base_url": baseURL, "model": model, "num_prompts": numPrompts, "max_concurrency": maxConcurrency ?? numPrompts,
                "random_input_len": randomInputLen, "random_output_len": randomOutputLen, "seed": seed,
            ]
            if requestRate.isFinite { object["request_rate"] = requestRate }
            if let first = timings.first(where: { !$0.ok }) { object["first_error"] = first.error ?? "?" }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) {
                try? data.write(to: URL(fileURLWithPath: outputJSON))
            }
        }
    }
}

/// A small seeded generator for prompts and arrival times.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
