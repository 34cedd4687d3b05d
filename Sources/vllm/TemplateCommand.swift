import ArgumentParser
import Foundation
import VLLMChatTemplates
import VLLMServer

/// `vllm template`: renders a chat template for a messages file, printing the prompt exactly (no newline added).
struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render a chat template (a file, or the model's) for the messages in a JSON file.")

    @Option(name: .long, help: "A Jinja chat template file.")
    var template: String?

    @Option(name: .long, help: "Use this model's chat template and special tokens (GGUF file, HF directory or org/name).")
    var model: String?

    @Option(name: .long, help: "JSON file: an array of messages, or an object with \"messages\" (and optionally \"tools\").")
    var messages: String

    @Option(name: .long, help: "JSON file with an array of tool definitions.")
    var tools: String?

    @Flag(name: .customLong("no-generation-prompt"), help: "Do not open an assistant turn at the end.")
    var noGenerationPrompt = false

    @Option(name: .customLong("bos-token"), help: "The bos_token variable (default: the model's, else empty).")
    var bosToken: String?

    @Option(name: .customLong("eos-token"), help: "The eos_token variable (default: the model's, else empty).")
    var eosToken: String?

    func validate() throws {
        guard (template == nil) != (model == nil) else { throw ValidationError("give exactly one of --template FILE or --model PATH") }
    }

    func run() throws {
        var source: String
        var bos = "", eos = ""
        if let template {
            do { source = try ChatFormatter.templateFile(template) } catch { throw ValidationError("\(error)") }
        } else {
            let tokenizer = try TokenizerLoading.load(model)
            guard let text = tokenizer.chatTemplate else { throw ValidationError("model '\(model ?? "")' has no chat template; use --template") }
            source = text
            bos = tokenizer.bosToken ?? ""
            eos = tokenizer.eosToken ?? ""
        }
        let document = try Self.readJSON(messages, what: "--messages")
        var context: [String: TemplateValue] = [
            "add_generation_prompt": .bool(!noGenerationPrompt),
            "bos_token": .string(bosToken ?? bos),
            "eos_token": .string(eosToken ?? eos),
            "tools": .none,
        ]
        if let list = document.arrayValue { context["messages"] = .array(list) }
        else if let object = document.objectValue, let list = object["messages"]?.arrayValue {
            for (key, value) in object { context[key] = value }
            context["messages"] = .array(list)
        } else {
            throw ValidationError("--messages: expected a JSON array of messages or an object with \"messages\"")
        }
        if let tools { context["tools"] = try Self.readJSON(tools, what: "--tools") }
        let rendered = try ChatTemplate(source).render(context)
        FileHandle.standardOutput.write(Data(rendered.utf8))
    }

    static func readJSON(_ path: String, what: String) throws -> TemplateValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(what): cannot read '\(path)'") }
        do { return try OrderedJSON.parse(data) } catch { throw ValidationError("\(what): '\(path)': \(error)") }
    }
}
