import ArgumentParser
import Foundation
import VLLMEngine
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vllm chat`: an interactive terminal chat, streaming each reply as it is generated, against a running
/// OpenAI-compatible server (`--url`) or a model loaded in-process (default: the default model).
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chat", abstract: "Chat in the terminal (a running server or the model in-process).")

    @Option(name: .long, help: "A running server's address, e.g. http://127.0.0.1:8000 (default: load the model here).")
    var url: String?

    @Option(name: .long, help: "Model: a path to load in-process, or the served name to request (default: the default model / the server's first).")
    var model: String?

    @Option(name: .customLong("system-prompt"), help: "A system message to start the conversation.")
    var systemPrompt: String?

    @Option(name: .customLong("max-tokens"), help: "Most tokens per reply.")
    var maxTokens: Int = 512

    @Option(name: .long, help: "Sampling temperature.")
    var temperature: Double = 0.7

    @OptionGroup var engine: EngineArguments

    func run() async throws {
        var messages: [LLM.Message] = systemPrompt.map { [LLM.Message(role: "system", content: $0)] } ?? []
        let llm = url == nil ? try LLM(model: model, options: try engine.options()) : nil
        var served: String? = nil
        let url = url.map(BenchServe.serverRoot)  // `--url http://host:8000/v1`, vLLM's documented form, or without /v1
        if let url { served = try await model.asyncOr { try await BenchServe.firstModel(url) } }
        defer { if let llm { EngineArguments.reportProfile(llm.model) } }
        FileHandle.standardError.write(Data("Type a message; an empty line or end of input quits.\n".utf8))
        while true {
            FileHandle.standardError.write(Data("> ".utf8))
            guard let line = readLine(), !line.isEmpty else { break }
            messages.append(LLM.Message(role: "user", content: line))
            var reply = ""
            if let llm {
                var parameters = SamplingParameters()
                parameters.temperature = temperature
                parameters.maxTokens = maxTokens
                _ = try llm.chat(messages, parameters) { piece in
                    reply += piece
                    Self.write(piece)
                }
            } else if let url, let served {
                let collected = Collected()
                let timing = await StreamingRequest.run(try request(url: url, model: served, messages: messages)) { piece in
                    collected.append(piece)
                    Self.write(piece)
                }
                if !timing.ok { FileHandle.standardError.write(Data("\nerror: \(timing.error ?? "request failed")\n".utf8)) }
                reply = collected.text
            }
            Self.write("\n")
            messages.append(LLM.Message(role: "assistant", content: reply))
        }
    }

    static func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    func request(url: String, model: String, messages: [LLM.Message]) throws -> URLRequest {
        var request = URLRequest(url: URL(string: url + "/v1/chat/completions")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let key = ProcessInfo.processInfo.environment["VLLM_API_KEY"] ?? ProcessInfo.processInfo.environment["OPENAI_API_KEY"] {
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        }
        let body: [String: Any] = ["model": model, "stream": true, "max_tokens": maxTokens, "temperature": temperature,
                                   "messages": messages.map { ["role": $0.role, "content": $0.content] }]
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        return request
    }
}

extension Optional where Wrapped == String {
    /// The value, or the result of `fallback` when nil.
    func asyncOr(_ fallback: () async throws -> String) async rethrows -> String {
        if let value = self { return value }
        return try await fallback()
    }
}

/// Text gathered from a streaming callback.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var pieces: [String] = []
    func append(_ piece: String) { lock.withLock { pieces.append(piece) } }
    var text: String { lock.withLock { pieces.joined() } }
}
