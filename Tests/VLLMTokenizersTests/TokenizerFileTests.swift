import Foundation
import Testing
import VLLMTokenizers
#if canImport(Glibc)
import Glibc
#endif

/// A FIFO where tokenizer.json or chat_template.jinja is expected blocked `open()` forever (issue 26): refused by name.
struct TokenizerFileTests {
    @Test(arguments: ["tokenizer.json", "chat_template.jinja"])
    func aFIFOIsRefusedWithoutOpeningIt(_ name: String) throws {
        let directory = NSTemporaryDirectory() + "swift-vllm-tokenizer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        if name != "tokenizer.json" {
            let tokenizer: [String: Any] = [
                "model": ["type": "BPE", "vocab": ["a": 0, "b": 1], "merges": [String]()],
                "pre_tokenizer": ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "never"],
            ]
            try JSONSerialization.data(withJSONObject: tokenizer).write(to: URL(fileURLWithPath: directory + "/tokenizer.json"))
        }
        #expect(mkfifo(directory + "/" + name, 0o600) == 0)
        #expect(throws: TokenizerError.self) { try Tokenizer(huggingFaceDirectory: directory) }
        do {
            _ = try Tokenizer(huggingFaceDirectory: directory)
        } catch {
            #expect("\(error)" == "tokenizer: '\(directory)/\(name)' is a FIFO, not a regular file")
        }
    }
}
