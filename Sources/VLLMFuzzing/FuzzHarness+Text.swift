import Foundation
import OrderedCollections
import VLLMChatTemplates
import VLLMEngine
import VLLMServer
import VLLMTokenizers

/// Text formats: tokenizer.json, chat templates, request bodies.
extension FuzzHarness {
    static func tokenizer(_ data: Data) {
        let directory = ScratchDirectory.shared.holding(["tokenizer.json": data])
        guard let tokenizer = try? Tokenizer(huggingFaceDirectory: directory) else { return }
        exercise(tokenizer)
    }

    /// Encodes and decodes a text with spaces, digits, punctuation, non-ASCII letters, an emoji and special-token
    /// look-alikes, then decodes a few arbitrary ids.
    static func exercise(_ tokenizer: Tokenizer) {
        let text = "Hello, world!  123 4567 <s></s><|im_start|>user\n naïve café 日本語 😀\t\r\n <unk> [CLS]"
        let ids = tokenizer.encode(text, addSpecialTokens: true, parseSpecial: true)
        _ = tokenizer.decode(ids, skipSpecialTokens: false)
        _ = tokenizer.decode(ids + [0, 1, 2, -1, Int32.max], skipSpecialTokens: true)
    }

    /// Limits well inside libFuzzer's `-rss_limit_mb=2048` and `-timeout=10`.
    static let templateLimits: TemplateLimits = {
        var limits = TemplateLimits()
        limits.maxStringBytes = 1 << 20
        limits.maxListLength = 1 << 16
        limits.maxAllocatedBytes = 64 << 20
        limits.maxLoopIterations = 200_000
        limits.timeLimit = .seconds(2)
        return limits
    }()

    static func template(_ data: Data) {
        guard let template = try? ChatTemplate(String(decoding: data, as: UTF8.self), limits: templateLimits) else { return }
        func message(_ role: String, _ content: String) -> TemplateValue {
            .object(["role": .string(role), "content": .string(content)])
        }
        let context: [String: TemplateValue] = [
            "messages": .array([message("system", "You are terse."), message("user", "Hi <b>there</b>"),
                                message("assistant", "Hello."), message("user", "2 + 2?")]),
            "add_generation_prompt": .bool(true),
            "bos_token": .string("<s>"),
            "eos_token": .string("</s>"),
            "tools": .array([.object(["type": .string("function"),
                                      "function": .object(["name": .string("add"), "parameters": .object([:])])])]),
        ]
        _ = try? template.render(context, date: (2026, 12, 6, 7, 0, 0))
    }

    static func request(_ data: Data) {
        _ = try? RequestDecoding.decode(body: data, limits: RequestLimits(maxModelLength: 2048, vocabularySize: 49_152,
                                                                         kvCacheTokens: 8192))
    }
}
