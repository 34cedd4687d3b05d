import VLLMChatTemplates

extension LLM {
    /// One chat message for `chat`: a role ("system", "user", "assistant", "tool") and its text.
    public struct Message: Sendable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// Renders each conversation with the model's chat template (`add_generation_prompt` on) and generates a reply,
    /// as vLLM's `LLM.chat`. Special-token text in the rendered prompt becomes special tokens; no extra BOS is added
    /// (templates write their own). Throws when the model has no template and none is given.
    public func chat(_ conversations: [[Message]], _ parameters: SamplingParameters = SamplingParameters(),
                     chatTemplate: String? = nil) throws -> [GenerationResult] {
        let prompts = try conversations.map { try chatPrompt($0, chatTemplate: chatTemplate) }
        return try generate(promptTokenIDs: prompts, parameters)
    }

    /// One conversation.
    public func chat(_ messages: [Message], _ parameters: SamplingParameters = SamplingParameters()) throws -> GenerationResult {
        try chat([messages], parameters)[0]
    }

    /// One conversation, calling `onText` with each piece of the reply as soon as it is decoded.
    public func chat(_ messages: [Message], _ parameters: SamplingParameters = SamplingParameters(),
                     onText: (String) -> Void) throws -> GenerationResult {
        var single = parameters
        single.n = 1
        return try generate(promptTokenIDs: [try chatPrompt(messages, chatTemplate: nil)], single) { _, output in onText(output.text) }[0]
    }

    /// The token ids of a conversation rendered with the model's template (or `chatTemplate`).
    public func chatPrompt(_ messages: [Message], chatTemplate: String?) throws -> [Int32] {
        guard let source = chatTemplate ?? tokenizer.chatTemplate else {
            throw EngineError("this model has no chat template; pass one as chatTemplate")
        }
        let rendered = try ChatTemplate(source).render([
            "messages": .array(messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) }),
            "add_generation_prompt": .bool(true),
            "bos_token": .string(tokenizer.bosToken ?? ""),
            "eos_token": .string(tokenizer.eosToken ?? ""),
            "tools": .none,
        ])
        return tokenizer.encode(rendered, addSpecialTokens: false, parseSpecial: true)
    }
}
