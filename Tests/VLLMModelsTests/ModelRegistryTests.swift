import Foundation
import Testing
import VLLMKernels
import VLLMModelFormats
import VLLMModels

/// Architectures are found by the name the file gives; an unknown one is refused with the registry's list.
struct ModelRegistryTests {
    @Test func everyRegisteredNameFindsItsArchitecture() throws {
        for architecture in ModelRegistry.architectures {
            for name in architecture.ggufNames {
                #expect(try ModelRegistry.architecture(gguf: name, file: "x.gguf").name == architecture.name)
            }
        }
    }

    @Test func anUnknownHuggingFaceArchitectureIsRefusedWithTheList() throws {
        let directory = try HostileConfigTests.tinyLlama { $0["architectures"] = ["T5EncoderModel"]; $0["model_type"] = "t5" }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let message = try #require(HostileConfigTests.loadError(.huggingFaceDirectory(path: directory)))
        #expect(message.contains("has architecture 'T5EncoderModel', which is not supported"), "\(message)")
        for name in ModelRegistry.architectures.flatMap(\.huggingFaceNames) { #expect(message.contains(name)) }
    }

    /// A BERT config with an activation BertModel does not compute is refused by name, not run wrong.
    @Test func aBertConfigWithAnotherActivationIsRefused() throws {
        let directory = try HostileConfigTests.tinyLlama { $0["architectures"] = ["BertModel"]; $0["model_type"] = "bert" }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let message = try #require(HostileConfigTests.loadError(.huggingFaceDirectory(path: directory)))
        #expect(message.contains("hidden_act 'silu' is not supported for BERT (gelu is)"), "\(message)")
    }

    @Test func anUnknownGGUFArchitectureIsRefusedWithTheList() {
        #expect {
            _ = try ModelRegistry.architecture(gguf: "rwkv7", file: "m.gguf")
        } throws: { error in
            let message = (error as? ModelFormatError)?.message ?? ""
            return message.contains("'m.gguf' has architecture 'rwkv7', which is not supported; supported GGUF architectures: llama")
        }
    }

    @Test func aFolderWithoutArchitecturesFallsBackToItsModelType() throws {
        let directory = try HostileConfigTests.tinyLlama { $0["architectures"] = nil }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(HostileConfigTests.loadError(.huggingFaceDirectory(path: directory)) == nil)
    }
}
