import Foundation

/// Replays saved inputs (files, or every file of a directory) through one harness: a crash here is a crash the
/// fuzzer found. Prints one line per file before running it, so the last line names the culprit.
package struct FuzzReplay {
    package let harness: FuzzHarness

    package init(harness: FuzzHarness) { self.harness = harness }

    /// Runs every input under `paths`; returns the exit status (0: all ran, 1: a path could not be read).
    package func run(paths: [String]) -> Int32 {
        var count = 0
        for file in paths.flatMap(Self.files) {
            guard let data = FileManager.default.contents(atPath: file) else {
                print("vllm-fuzz: cannot read '\(file)'")
                return 1
            }
            // Unbuffered: after a trap, the last line names the input.
            FileHandle.standardOutput.write(Data("\(harness.rawValue): \(file) (\(data.count) bytes)\n".utf8))
            data.withUnsafeBytes { harness.run($0) }
            count += 1
        }
        print("\(harness.rawValue): \(count) inputs replayed, no crash")
        return 0
    }

    /// `path` itself, or the regular files under it, sorted.
    package static func files(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String]) ?? []
        return names.sorted().map { path + "/" + $0 }.filter {
            var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &dir) && !dir.boolValue
        }
    }
}
