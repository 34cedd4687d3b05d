import Foundation
import VLLMModelFormats

/// A model argument resolved to local files, downloading from the Hub what the cache lacks: a path as it is;
/// `ORG/NAME` as a Hugging Face folder (its configs, tokenizer and safetensors weights); `ORG/NAME:QUANT` (as
/// llama.cpp's `-hf` and Ollama spell it) or `ggufFile` as one GGUF file of a GGUF repo. With `HF_HUB_OFFLINE=1` only
/// the cache is read.
public enum HubModel {
    public static func resolve(_ argument: String, revision: String = "main", ggufFile: String? = nil,
                               settings: HubSettings = HubSettings()) throws -> ModelLocation {
        let expanded = argument.hasPrefix("~/") ? NSHomeDirectory() + argument.dropFirst(1) : argument
        guard let (repo, quant) = repoName(argument), !FileManager.default.fileExists(atPath: expanded) else {
            return try ModelLocation.resolve(argument)
        }
        let cache = HubCache(repo: repo, cacheDirectory: settings.cacheDirectory)
        if settings.offline {
            guard let commit = cache.commit(for: revision) else {
                throw HubError("HF_HUB_OFFLINE=1 and '\(repo)' (\(revision)) is not in the cache \(cache.root)")
            }
            let folder = cache.snapshot(commit)
            let files = (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String]) ?? []
            return try location(repo: repo, folder: folder, files: files, quant: quant, ggufFile: ggufFile)
        }
        let downloader = HubDownloader(settings: settings)
        let (commit, files) = try downloader.listing(repo: repo, revision: revision)
        let wanted = try selection(repo: repo, files: files, quant: quant, ggufFile: ggufFile)
        let folder = try downloader.download(repo: repo, revision: revision, commit: commit, files: wanted)
        return try location(repo: repo, folder: folder, files: wanted, quant: quant, ggufFile: ggufFile)
    }

    /// `ORG/NAME` or `ORG/NAME:QUANT`, nil for anything that is not a repo id.
    static func repoName(_ argument: String) -> (repo: String, quant: String?)? {
        let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
        let names = parts[0].split(separator: "/", omittingEmptySubsequences: false)
        guard names.count == 2, names.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
              parts[0].allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) else { return nil }
        return (parts[0], parts.count == 2 ? parts[1] : nil)
    }

    /// The files to fetch: one GGUF file when asked for (or when the repo has only GGUF files), else the folder's
    /// configs, tokenizer files and safetensors weights.
    static func selection(repo: String, files: [String], quant: String?, ggufFile: String?) throws(HubError) -> [String] {
        let ggufs = files.filter { $0.lowercased().hasSuffix(".gguf") }
        if quant != nil || ggufFile != nil || (!files.contains("config.json") && !ggufs.isEmpty) {
            return [try gguf(repo: repo, ggufs: ggufs, quant: quant, ggufFile: ggufFile)]
        }
        guard files.contains("config.json") else { throw HubError("'\(repo)' has neither a config.json nor GGUF files: not a model this engine loads") }
        let top = files.filter { !$0.contains("/") }
        let weights = top.filter { $0.hasSuffix(".safetensors") }
        guard !weights.isEmpty else {
            let other = top.filter { $0.hasSuffix(".bin") || $0.hasSuffix(".pt") || $0.hasSuffix(".pth") }
            throw HubError("'\(repo)' has no safetensors weights" + (other.isEmpty ? "" : " (only \(other.prefix(3).joined(separator: ", ")), PyTorch pickles, which are not loaded)"))
        }
        let kept = [".json", ".safetensors", ".jinja", ".txt", ".model"]
        return files.filter { file in
            file.contains("/") ? file.hasSuffix(".json") && !file.hasPrefix("original/") && !file.hasPrefix("onnx/")
                               : kept.contains { file.hasSuffix($0) }
        }.sorted()
    }

    /// The GGUF file named by `ggufFile`, or the one whose name carries `quant` (case-insensitive).
    static func gguf(repo: String, ggufs: [String], quant: String?, ggufFile: String?) throws(HubError) -> String {
        if let ggufFile {
            guard ggufs.contains(ggufFile) else { throw HubError("'\(repo)' has no file '\(ggufFile)'; its GGUF files: \(ggufs.joined(separator: ", "))") }
            return ggufFile
        }
        guard let quant else {
            guard ggufs.count == 1 else { throw HubError("'\(repo)' has several GGUF files; pick one with \(repo):QUANT or --gguf-file: \(ggufs.joined(separator: ", "))") }
            return ggufs[0]
        }
        let q = quant.lowercased()
        let matches = ggufs.filter { $0.lowercased().contains(q) }
        let exact = matches.filter { let n = $0.lowercased(); return n.hasSuffix("-\(q).gguf") || n.hasSuffix(".\(q).gguf") || n.hasSuffix("_\(q).gguf") }
        if exact.count == 1 { return exact[0] }
        if matches.count == 1 { return matches[0] }
        throw HubError(matches.isEmpty ? "'\(repo)' has no GGUF file for '\(quant)'; its GGUF files: \(ggufs.joined(separator: ", "))"
                                       : "'\(repo)' has several GGUF files for '\(quant)' (\(matches.joined(separator: ", "))); name one with --gguf-file")
    }

    static func location(repo: String, folder: String, files: [String], quant: String?, ggufFile: String?) throws -> ModelLocation {
        let ggufs = files.filter { $0.lowercased().hasSuffix(".gguf") }
        if quant != nil || ggufFile != nil || (!files.contains("config.json") && !ggufs.isEmpty) {
            return .gguf(path: folder + "/" + (try gguf(repo: repo, ggufs: ggufs, quant: quant, ggufFile: ggufFile)))
        }
        return try ModelLocation.resolve(folder)
    }
}
