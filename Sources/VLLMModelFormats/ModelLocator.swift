import Foundation

/// What a model argument names: a GGUF file or a Hugging Face model directory.
public enum ModelLocation: Sendable, Equatable {
    case gguf(path: String)
    case huggingFaceDirectory(path: String)

    /// Resolves a model argument: a `.gguf` file, a directory with `config.json`, or `org/name` in the
    /// local Hugging Face cache (`$HF_HOME/hub` or `~/.cache/huggingface/hub`, `models--org--name/snapshots/<rev>/`).
    public static func resolve(_ argument: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ModelFormatError) -> ModelLocation {
        let fm = FileManager.default
        let expanded = argument.hasPrefix("~/") ? NSHomeDirectory() + argument.dropFirst(1) : argument
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: expanded, isDirectory: &isDirectory) {
            if !isDirectory.boolValue { return .gguf(path: expanded) }
            if fm.fileExists(atPath: expanded + "/config.json") { return .huggingFaceDirectory(path: expanded) }
            let ggufs = ((try? fm.contentsOfDirectory(atPath: expanded)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
            if ggufs.count == 1 { return .gguf(path: expanded + "/" + ggufs[0]) }
            throw ModelFormatError("'\(argument)' is a directory with no config.json" + (ggufs.isEmpty ? "" : " and several .gguf files (\(ggufs.joined(separator: ", "))); name one"))
        }
        let parts = argument.split(separator: "/")
        if parts.count == 2, !argument.hasPrefix("."), !argument.hasPrefix("/") {
            let hub = environment["HF_HUB_CACHE"] ?? ((environment["HF_HOME"] ?? NSHomeDirectory() + "/.cache/huggingface") + "/hub")
            let snapshots = "\(hub)/models--\(parts[0])--\(parts[1])/snapshots"
            var candidates: [String] = []
            // Read as a regular file only (a FIFO here would block), and only a plain revision name is followed.
            if let bytes = try MappedFile.contents(of: "\(hub)/models--\(parts[0])--\(parts[1])/refs/main", limit: 4096) {
                let ref = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if !ref.isEmpty, !ref.contains("/"), ref != "..", ref != "." { candidates.append(snapshots + "/" + ref) }
            }
            candidates += ((try? fm.contentsOfDirectory(atPath: snapshots)) ?? []).sorted().map { snapshots + "/" + $0 }
            for dir in candidates where fm.fileExists(atPath: dir + "/config.json") {
                return .huggingFaceDirectory(path: dir)
            }
            throw ModelFormatError("model '\(argument)' is neither a path nor in the local Hugging Face cache (\(snapshots)); downloads are not supported: pass a GGUF file or a model directory")
        }
        throw ModelFormatError("model path '\(argument)' does not exist")
    }
}
