import ArgumentParser
import Foundation
import VLLMEngine
import VLLMServer

/// `vllm generate --input prompts.jsonl`: every line a request, all run together with continuous batching;
/// results written as JSONL in input order.
struct BatchGeneration {
    let llm: LLM
    let defaults: SamplingParameters

    func run(inputPath: String, outputPath: String?) throws {
        guard let data = FileManager.default.contents(atPath: inputPath) else {
            throw ValidationError("cannot read --input '\(inputPath)'")
        }
        var prompts: [Any] = []
        var requests: [(promptTokenIDs: [Int32], parameters: SamplingParameters)] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let lineData = Data(trimmed.utf8)
            guard let object = try? JSONSerialization.jsonObject(with: lineData) as? [String: Any] else {
                throw ValidationError("\(inputPath):\(number + 1): not a JSON object")
            }
            var parameters: SamplingParameters
            do {
                let (decoded, unknown) = try RequestDecoding.samplingParameters(object: lineData, otherKnownKeys: ["prompt", "prompt_token_ids"],
                                                                             defaults: llm.core.samplingDefaults)
                parameters = decoded
                if !unknown.isEmpty {
                    let names = unknown.map { "'\($0)'" }.joined(separator: ", ")
                    FileHandle.standardError.write(Data("\(inputPath):\(number + 1): ignored unknown field(s) \(names)\n".utf8))
                }
            } catch {
                throw ValidationError("\(inputPath):\(number + 1): \(error.message)")
            }
            for key in ["temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_tokens", "seed", "ignore_eos"] where object[key] == nil {
                Self.copyDefault(key, from: defaults, to: &parameters)
            }
            let ids: [Int32]
            if let text = object["prompt"] as? String {
                ids = llm.tokenizer.promptTokenIDs(text)
                prompts.append(text)
            } else if let tokens = object["prompt_token_ids"] as? [Int] {
                ids = tokens.map { Int32(truncatingIfNeeded: $0) }
                prompts.append(tokens)
            } else {
                throw ValidationError("\(inputPath):\(number + 1): each line needs \"prompt\" (a string) or \"prompt_token_ids\"")
            }
            do { try parameters.validate() } catch { throw ValidationError("\(inputPath):\(number + 1): \(error.message)") }
            requests.append((ids, parameters))
        }
        let progress = Progress(total: requests.count)
        let results = try llm.generate(requests: requests) { _, output in
            if output.isFinished { progress.advance() }
        }
        progress.finish()
        var lines = ""
        for (i, result) in results.enumerated() {
            let outputs: [[String: Any]] = result.outputs.map { o in
                var entry: [String: Any] = ["index": o.index, "text": o.text, "token_ids": o.tokenIDs.map(Int.init),
                                            "finish_reason": o.finishReason.rawValue]
                if requests[i].parameters.logprobs != nil {
                    entry["logprobs"] = o.logprobs.map { lp in
                        ["token_id": Int(lp.tokenID), "logprob": Double(lp.logprob),
                         "top_logprobs": lp.top.map { ["token_id": Int($0.id), "logprob": Double($0.logprob)] }] as [String: Any]
                    }
                }
                return entry
            }
            var object: [String: Any] = [
                "prompt": prompts[i], "prompt_token_ids": result.promptTokenIDs.map(Int.init), "outputs": outputs,
                "metrics": ["time_to_first_token": result.timeToFirstToken ?? 0, "latency": result.latency,
                            "cached_prompt_tokens": result.cachedPromptTokenCount],
            ]
            if let prompt = result.promptLogprobs {
                // vLLM's list: null for the first prompt token (no context), then one entry per later token.
                object["prompt_logprobs"] = [NSNull()] + prompt.map { lp in
                    ["token_id": Int(lp.tokenID), "logprob": Double(lp.logprob), "rank": lp.rank,
                     "top_logprobs": lp.top.map { ["token_id": Int($0.id), "logprob": Double($0.logprob)] }] as [String: Any]
                }
            }
            let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            lines += String(decoding: json, as: UTF8.self) + "\n"
        }
        if let outputPath {
            try Data(lines.utf8).write(to: URL(fileURLWithPath: outputPath))
        } else {
            FileHandle.standardOutput.write(Data(lines.utf8))
        }
    }

    static func copyDefault(_ key: String, from defaults: SamplingParameters, to parameters: inout SamplingParameters) {
        switch key {
        case "temperature": parameters.temperature = defaults.temperature
        case "top_p": parameters.topP = defaults.topP
        case "top_k": parameters.topK = defaults.topK
        case "min_p": parameters.minP = defaults.minP
        case "repetition_penalty": parameters.repetitionPenalty = defaults.repetitionPenalty
        case "max_tokens": parameters.maxTokens = defaults.maxTokens
        case "seed": parameters.seed = defaults.seed
        case "ignore_eos": parameters.ignoreEOS = defaults.ignoreEOS
        default: break
        }
    }
}

/// A progress bar on stderr (redrawn in place on a terminal, a line every 10% otherwise).
final class Progress {
    let total: Int
    private var done = 0
    private let start = Date()
    private let interactive = isatty(STDERR_FILENO) != 0

    init(total: Int) { self.total = total }

    func advance() {
        done += 1
        guard total >= 8 else { return }
        if interactive || done % max(1, total / 10) == 0 || done == total { draw() }
    }

    func finish() {
        if interactive && total >= 8 { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw() {
        let width = 30
        let filled = width * done / max(total, 1)
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let line = String(format: "[%@] %d/%d requests, %.1f s", bar, done, total, Date().timeIntervalSince(start))
        FileHandle.standardError.write(Data((interactive ? "\r" + line : line + "\n").utf8))
    }
}
