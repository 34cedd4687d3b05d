import Foundation
import VLLMKernels
import VLLMModelFormats

/// The `vllm tp-worker` processes of the `mp` backend (ranks 1..N-1). A worker that exits aborts the group, so rank 0
/// stops waiting for it (`SharedMemoryCommunicator.abort`); workers exit when rank 0's process is gone or shuts the
/// group down. Dropping this terminates them.
final class WorkerProcesses: @unchecked Sendable {
    private let processes: [Process]

    init(size: Int, segment: String, location: ModelLocation, options: EngineOptions, communicator: SharedMemoryCommunicator) throws {
        let executable = try options.workerExecutable ?? Self.workerExecutable()
        let path: String
        switch location {
        case .gguf(let p), .huggingFaceDirectory(let p): path = p
        }
        var started: [Process] = []
        for rank in 1..<size {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            var arguments = ["tp-worker", path, "--segment", segment, "--rank", "\(rank)", "--size", "\(size)",
                             "--parent", "\(getpid())", "--dtype", options.dtype.rawValue]
            if let threads = options.threads { arguments += ["--threads", "\(threads)"] }
            if let q = options.quantization { arguments += ["--quantization", q.rawValue] }
            process.arguments = arguments
            process.terminationHandler = { [weak communicator] _ in communicator?.abort() }
            do {
                try process.run()
            } catch {
                started.forEach { $0.terminate() }
                throw EngineError("tensor parallelism: cannot start '\(executable)' for rank \(rank): \(error)")
            }
            started.append(process)
        }
        processes = started
    }

    deinit {
        for p in processes where p.isRunning { p.terminate() }
    }

    /// The `vllm` executable that runs `tp-worker`: `VLLM_WORKER_EXECUTABLE`, else this process when it is `vllm`,
    /// else a `vllm` beside it, else the first `vllm` on PATH (an app embedding the engine starts the CLI's workers).
    static func workerExecutable(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let given = environment["VLLM_WORKER_EXECUTABLE"] { return given }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        if (me as NSString).lastPathComponent == "vllm" { return me }
        let beside = ((me as NSString).deletingLastPathComponent as NSString).appendingPathComponent("vllm")
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        for directory in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/vllm"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw EngineError("tensor parallelism starts `vllm tp-worker` processes, and no vllm executable was found: set VLLM_WORKER_EXECUTABLE")
    }
}
