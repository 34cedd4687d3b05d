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
        guard let source = chatTemplate ?? tokenizer.chatTemplate else {
            throw EngineError("this model has no chat template; pass one as chatTemplate")
        }
        let template = try ChatTemplate(source)
        let prompts = try conversations.map { messages in
            let rendered = try template.render([
                "messages": .array(messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) }),
                "add_generation_prompt": .bool(true),
                "bos_token": .string(tokenizer.bosToken ?? ""),
                "eos_token": .string(tokenizer.eosToken ?? ""),
                "tools": .none,
            ])
            return tokenizer.encode(rendered, addSpecialTokens: false, parseSpecial: true)
        }
        return try generate(promptTokenIDs: prompts, parameters)
    }

    /// One conversation.
    public func chat(_ messages: [Message], _ parameters: SamplingParameters = SamplingParameters()) throws -> GenerationResult {
        try chat([messages], parameters)[0]
    }
}
