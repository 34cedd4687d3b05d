import Foundation

/// `huggingface_hub`'s cache layout for one model repo: `models--ORG--NAME/` with `blobs/<etag>` (the file contents,
/// named by the Hub's ETag: a sha256 for LFS files, the git blob sha1 otherwise), `snapshots/<commit>/<path>` (relative
/// symlinks to the blobs) and `refs/<revision>` (the commit a branch or tag pointed at).
public struct HubCache: Sendable {
    public let repo: String
    public let root: String

    public init(repo: String, cacheDirectory: String) {
        self.repo = repo
        root = cacheDirectory + "/models--" + repo.replacingOccurrences(of: "/", with: "--")
    }

    public var blobs: String { root + "/blobs" }
    public func snapshot(_ commit: String) -> String { root + "/snapshots/" + commit }
    func blob(_ etag: String) -> String { blobs + "/" + etag }

    /// The commit `revision` resolved to last time (a commit hash resolves to itself), if known.
    public func commit(for revision: String) -> String? {
        if revision.count == 40, revision.allSatisfy(\.isHexDigit) { return revision }
        guard let data = FileManager.default.contents(atPath: root + "/refs/" + revision) else { return nil }
        let commit = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty || commit.contains("/") ? nil : commit
    }

    /// Records that `revision` points at `commit` (not for revisions that are commits).
    func setRef(_ revision: String, to commit: String) throws {
        guard revision != commit else { return }
        try FileManager.default.createDirectory(atPath: root + "/refs/" + (revision as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: URL(fileURLWithPath: root + "/refs/" + revision), options: .atomic)
    }

    /// Links `snapshots/<commit>/<path>` to `blobs/<etag>` (relative, as `huggingface_hub` does), replacing a stale link.
    func link(commit: String, path: String, etag: String) throws {
        let fm = FileManager.default
        let target = snapshot(commit) + "/" + path
        try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let depth = path.split(separator: "/").count + 1
        let relative = String(repeating: "../", count: depth) + "blobs/" + etag
        if (try? fm.destinationOfSymbolicLink(atPath: target)) == relative { return }
        try? fm.removeItem(atPath: target)
        try fm.createSymbolicLink(atPath: target, withDestinationPath: relative)
    }
}
