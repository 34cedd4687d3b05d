import Foundation

/// A per-process directory the path-taking parsers read their input from: each fuzz input is written to a file
/// there (in /dev/shm when it exists, so no disk I/O) and parsed through the same public entry points a model
/// folder goes through.
final class ScratchDirectory: @unchecked Sendable {
    // Used from the fuzzer's single thread only.
    static let shared = ScratchDirectory()

    let path: String

    private init() {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        path = "\(base)/vllm-fuzz-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: ScratchDirectory.shared.path) }
    }

    /// Makes the directory hold exactly `files` (name to contents) and returns its path.
    func holding(_ files: [String: Data]) -> String {
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for name in existing where files[name] == nil { try? FileManager.default.removeItem(atPath: path + "/" + name) }
        for (name, data) in files {
            guard FileManager.default.createFile(atPath: path + "/" + name, contents: data) else {
                fatalError("vllm-fuzz: cannot write '\(path)/\(name)'")
            }
        }
        return path
    }
}
