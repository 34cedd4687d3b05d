import VLLMTokenizers

extension Tokenizer {
    /// The token ids of a prompt given as text: the one way every prompt path reads text (`/v1/completions`,
    /// `/v1/chat/completions` after its template, `/tokenize`, `LLM.generate`, `vllm generate --prompt` and
    /// `--input`, `vllm tokenize`), so that the same text is the same tokens everywhere.
    ///
    /// Special-token text such as `<|im_start|>` becomes that token, as vLLM (Hugging Face tokenizers split added
    /// tokens out of any text) and llama.cpp's server and CLI (`parse_special`) read prompts: hand-written chat
    /// markup means what a chat template's output means, instead of a few bytes of plain text.
    /// - Parameter addSpecialTokens: add BOS / EOS as the model says (Hugging Face `add_special_tokens`); off for
    ///   text a chat template rendered, which writes its own.
    public func promptTokenIDs(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        encode(text, addSpecialTokens: addSpecialTokens, parseSpecial: true)
    }
}
