import ArgumentParser
import Foundation
import VLLMEngine
import VLLMTokenizers

/// `vllm tokenize`: text on stdin → token ids as a JSON array on one line (or ids → text with --decode).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of stdin as a JSON array (or, with --decode, the text of a JSON array of ids).")

    @Option(name: .long, help: "Model whose tokenizer to use (GGUF file, HF directory or org/name; default: SmolLM2-135M-Instruct).")
    var model: String?

    @Flag(name: .customLong("add-special-tokens"), help: "Add BOS/EOS as the model says (special-token text such as <|im_start|> is always read as that token, as prompts are).")
    var addSpecialTokens = false

    @Flag(name: .long, help: "Read a JSON array of ids on stdin and print its text.")
    var decode = false

    @Flag(name: .customLong("skip-special-tokens"), help: "With --decode: drop special tokens from the text.")
    var skipSpecialTokens = false

    func run() throws {
        let tokenizer = try TokenizerLoading.load(model)
        let input = FileHandle.standardInput.readDataToEndOfFile()
        if decode {
            guard let ids = try? JSONDecoder().decode([Int64].self, from: input) else {
                throw ValidationError("--decode expects a JSON array of token ids on stdin")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= tokenizer.vocabularySize }) {
                throw ValidationError("token id \(bad) is outside the vocabulary (0..<\(tokenizer.vocabularySize))")
            }
            FileHandle.standardOutput.write(Data(tokenizer.decode(ids.map { Int32($0) }, skipSpecialTokens: skipSpecialTokens).utf8))
            return
        }
        let text = String(decoding: input, as: UTF8.self)
        let ids = tokenizer.promptTokenIDs(text, addSpecialTokens: addSpecialTokens)
        print("[" + ids.map(String.init).joined(separator: ",") + "]")
    }
}
