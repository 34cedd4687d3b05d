import Foundation
import Testing
import VLLMEngine

/// `LLM.chat` renders the model's own template (SmolLM2's ChatML, shared/notes/GGUF-FACTS.md §5.3) and answers.
struct ChatTests {
    @Test func chatUsesTheModelTemplate() throws {
        let llm = try LLM(model: BatchInvarianceTests.modelPath)
        var parameters = SamplingParameters()
        parameters.temperature = 0
        parameters.maxTokens = 24
        let result = try llm.chat([LLM.Message(role: "user", content: "What is 2+2?")], parameters)
        let expectedPrompt = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
        #expect(result.promptTokenIDs == llm.tokenizer.encode(expectedPrompt, parseSpecial: true))
        #expect(result.promptTokenIDs.first == 1, "<|im_start|> is one special token")
        #expect(result.outputs[0].text.contains("4"))
        #expect(result.outputs[0].finishReason == .stop, "the reply ends with <|im_end|>")
    }
}
