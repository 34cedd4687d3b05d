import ArgumentParser

/// `vllm`: the command-line entry point.
@main
struct VLLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vllm",
        abstract: "A high-throughput LLM inference and serving engine for CPUs.",
        subcommands: [ServeCommand.self, GenerateCommand.self, BenchCommand.self, TokenizeCommand.self, TemplateCommand.self, ChatCommand.self, EmbedCommand.self,
                      TensorParallelWorkerCommand.self]
    )
}
