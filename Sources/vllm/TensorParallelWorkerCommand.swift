import ArgumentParser
import Foundation
import VLLMEngine
import VLLMKernels
import VLLMModelFormats
import VLLMModels

/// `vllm tp-worker`: one rank (1..N-1) of a tensor-parallel group that `vllm serve --tensor-parallel-size N` (or
/// `vllm generate`, or `LLM`) started on this host. Not for people: rank 0 passes everything.
struct TensorParallelWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tp-worker", abstract: "A tensor-parallel rank started by rank 0 (internal).", shouldDisplay: false)

    @Argument(help: "The model file or folder rank 0 resolved.")
    var model: String

    @Option(name: .long, help: "Rank 0's shared memory segment.")
    var segment: String

    @Option(name: .long) var rank: Int
    @Option(name: .long) var size: Int

    @Option(name: .long, help: "Rank 0's process id: the worker exits when it is gone.")
    var parent: Int32

    @Option(name: .long) var dtype: String = "auto"
    @Option(name: .long) var threads: Int?
    @Option(name: .long) var quantization: String?

    func run() throws {
        var options = EngineOptions()
        guard let dtype = ComputeDType(rawValue: dtype) else { throw ValidationError("--dtype \(dtype) is not a compute dtype") }
        options.dtype = dtype
        options.threads = threads
        options.tensorParallelSize = size
        if let quantization {
            guard let method = QuantizationConfig.Method(rawValue: quantization) else { throw ValidationError("--quantization \(quantization) is not a method") }
            options.quantization = method
        }
        let binding = try CPUBinding(ProcessInfo.processInfo.environment["VLLM_CPU_OMP_THREADS_BIND"], size: size)
        let communicator = try SharedMemoryCommunicator(path: segment, rank: rank, size: size, create: false,
                                                        spin: TensorParallelLauncher.spin(binding))
        let parent = self.parent
        communicator.peersAlive = { getppid() == parent }
        do {
            try TensorParallelLauncher.runRank(try ModelLocation.resolve(model), options: options, communicator: communicator,
                                               binding: binding, bindingRank: rank)
        } catch {
            if getppid() != parent { return }  // rank 0 is gone (its server stopped): nothing left to compute for
            communicator.abort()  // rank 0 stops waiting for this rank
            throw error
        }
    }
}
