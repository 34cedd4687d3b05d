import Foundation
import Synchronization
import VLLMEngine
import VLLMGrammar
@testable import VLLMServer

/// A backend with a byte-level "tokenizer" (token id = byte) and a "model" that spells out
/// "hello world ..." one byte per step, honouring max_tokens and stop strings, so the HTTP layer
/// can be tested exactly without a model.
final class FakeBackend: GenerationBackend {
    let limits: RequestLimits
    let state = Mutex(AsyncEngine.Snapshot())
    let script: [UInt8]
    /// Whether the output ends (finish reason `stop`) at the end of the script instead of cycling through it.
    let scripted: Bool
    /// Requests whose streams are still open (to check that disconnects abort).
    let open = Atomic<Int>(0)
    let stepDelay: Duration
    /// When set, every stream fails with `EngineError.shuttingDown` after this many tokens, as the real engine's
    /// streams do when it stops under them.
    let stopAfter: Int?
    /// The parameters of the last request generated, to check what reached the engine.
    let lastParameters = Mutex<SamplingParameters?>(nil)
    /// The prompt text of the last chat rendered.
    let lastChatPrompt = Mutex<String?>(nil)
    /// When set, chats render with this real formatter (a real template) instead of the fake markup.
    let chat: ChatFormatter?

    /// - Parameter output: when set, the model says exactly this (one byte per step) and stops.
    init(stepDelay: Duration = .zero, stopAfter: Int? = nil, chat: ChatFormatter? = nil, bos: Int32? = nil, output: String? = nil) {
        limits = RequestLimits(maxModelLength: output == nil ? 64 : 2048, vocabularySize: 256, kvCacheTokens: 10_000)
        script = Array((output ?? "hello world, this is a fake model speaking").utf8)
        scripted = output != nil
        self.bos = bos
        self.stepDelay = stepDelay
        self.stopAfter = stopAfter
        self.chat = chat
    }

    var snapshot: AsyncEngine.Snapshot { state.withLock { $0 } }

    /// The constraints compiled, in order; a regex "(" fails to compile, as a malformed one would.
    let compiled = Mutex<[StructuredOutputs]>([])

    func compileStructuredOutputs(_ constraint: StructuredOutputs) async throws {
        if constraint == .regex("(") { throw InvalidParameter("structured_outputs", "regex: missing ) at offset 1") }
        compiled.withLock { $0.append(constraint) }
    }

    /// When set, tokenizing with special tokens puts this id first, as a BOS.
    let bos: Int32?
    /// Whether each `tokenize` ran on a `WorkThreads` thread (long prompts must leave the HTTP threads).
    let tokenizedOnWorkThread = Mutex<[Bool]>([])

    func tokenize(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        tokenizedOnWorkThread.withLock { $0.append(WorkThreads.shared.isWorkThread) }
        return (addSpecialTokens ? bos.map { [$0] } ?? [] : []) + text.utf8.map { Int32($0) }
    }

    func detokenize(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        String(decoding: ids.map { UInt8(clamping: $0) }, as: UTF8.self)
    }

    func renderChat(_ chat: ChatRequest) async throws -> String {
        if let formatter = self.chat {
            let text = try await formatter.render(chat)
            lastChatPrompt.withLock { $0 = text }
            return text
        }
        var text = ""
        for message in chat.messages {
            let o = message.object ?? [:]
            text += "<\(o["role"]?.string ?? "?")>\(o["content"]?.string ?? "")"
        }
        return text + (chat.addGenerationPrompt ? "<assistant>" : "")
    }

    func generate(promptTokenIDs: [Int32], parameters: SamplingParameters, priority: Int) -> AsyncThrowingStream<RequestOutput, Error> {
        let script = script, delay = stepDelay, stopAfter = stopAfter, scripted = scripted
        let maxTokens = parameters.maxTokens ?? 16
        lastParameters.withLock { $0 = parameters }
        open.add(1, ordering: .relaxed)
        let (stream, continuation) = AsyncThrowingStream<RequestOutput, Error>.makeStream()
        let task = Task {
            var checker = StopChecker(stops: parameters.stop, includeStop: parameters.includeStopStringInOutput)
            for i in 0..<maxTokens {
                if delay > .zero { try? await Task.sleep(for: delay) }
                if i == stopAfter { continuation.finish(throwing: EngineError.shuttingDown); return }
                if Task.isCancelled { break }
                let token = Int32(script[i % script.count])
                let (emit, stopped) = checker.append(String(decoding: [UInt8(token)], as: UTF8.self))
                let last = stopped || i == maxTokens - 1 || (scripted && i == script.count - 1)
                let text = last ? emit + checker.finish() : emit
                var logprobs: [TokenLogprobs] = []
                if let k = parameters.logprobs {
                    var row = [Float](repeating: 0, count: 256)
                    row[Int(token)] = 2
                    logprobs = [row.withUnsafeBufferPointer { TokenLogprobs(logits: $0, chosen: token, topCount: k) }]
                }
                var output = RequestOutput(requestID: 0, text: text, tokenIDs: [token], logprobs: logprobs,
                                           finishReason: last ? (stopped || (scripted && i == script.count - 1) ? .stop : .length) : nil, promptTokenCount: promptTokenIDs.count)
                if i == 0, let k = parameters.promptLogprobs {
                    // Prompt token j scores 1 above the rest of a 256-token vocabulary, token j - 1 half that.
                    output.promptLogprobs = promptTokenIDs.indices.dropFirst().map { j in
                        var row = [Float](repeating: 0, count: 256)
                        row[Int(promptTokenIDs[j - 1]) & 255] = 0.5
                        row[Int(promptTokenIDs[j]) & 255] = 1
                        return row.withUnsafeBufferPointer { TokenLogprobs(logits: $0, chosen: promptTokenIDs[j], topCount: k < 0 ? 256 : k) }
                    }
                }
                continuation.yield(output)
                if last { break }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            task.cancel()
            self.open.subtract(1, ordering: .relaxed)
        }
        return stream
    }
}
