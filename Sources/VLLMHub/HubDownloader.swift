import Crypto
import Foundation

/// Downloads files of a model repo into the `huggingface_hub` cache (`HubCache`): the revision is resolved to a
/// commit, each file is fetched into `blobs/<etag>` (resuming a partial `.incomplete` file with Range requests, its
/// size checked, and its sha256 for LFS files or git blob sha1 otherwise checked against the ETag) and linked from
/// `snapshots/<commit>/`. Files already in the cache are not fetched again.
public struct HubDownloader: Sendable {
    public let settings: HubSettings
    let http: HubHTTP
    /// Bytes asked for per request (progress and resumption granularity).
    static let chunk: Int64 = 16 << 20

    public init(settings: HubSettings = HubSettings()) {
        self.settings = settings
        http = HubHTTP(settings: settings)
    }

    /// The commit `revision` points at and the repo's file paths.
    public func listing(repo: String, revision: String) throws(HubError) -> (commit: String, files: [String]) {
        let escaped = revision.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? revision
        let response = try http.send("GET", "/api/models/\(repo)/revision/\(escaped)")
        try http.check(response, repo: repo)
        guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
              let commit = object["sha"] as? String, let siblings = object["siblings"] as? [[String: Any]] else {
            throw HubError("\(settings.endpoint) sent an unexpected listing for '\(repo)'")
        }
        return (commit, siblings.compactMap { $0["rfilename"] as? String })
    }

    /// Fetches `files` of `repo` at `commit` (recording `revision` → commit) and returns the snapshot folder.
    public func download(repo: String, revision: String, commit: String, files: [String]) throws(HubError) -> String {
        let cache = HubCache(repo: repo, cacheDirectory: settings.cacheDirectory)
        do {
            try FileManager.default.createDirectory(atPath: cache.blobs, withIntermediateDirectories: true)
        } catch {
            throw HubError("cannot create the cache folder \(cache.blobs): \(error.localizedDescription) (set HF_HUB_CACHE or --download-dir)")
        }
        for (i, file) in files.enumerated() {
            let head = try http.send("HEAD", "/\(repo)/resolve/\(commit)/\(Self.escape(file))")
            try http.check(head, repo: repo, file: file)
            let etag = Self.unquote(head.header("X-Linked-Etag") ?? head.header("ETag") ?? "")
            guard !etag.isEmpty, !etag.contains("/"), let size = Int64(head.header("X-Linked-Size") ?? head.header("Content-Length") ?? "") else {
                throw HubError("\(settings.endpoint) gave no ETag or size for '\(repo)/\(file)'")
            }
            let blob = cache.blob(etag)
            if Self.fileSize(blob) != size {
                try fetch(repo: repo, commit: commit, file: file, to: blob, size: size, etag: etag,
                          label: "\(repo): \(file) (\(i + 1)/\(files.count))")
            }
            do { try cache.link(commit: commit, path: file, etag: etag) } catch {
                throw HubError("cannot link \(file) into \(cache.snapshot(commit)): \(error.localizedDescription)")
            }
        }
        try? cache.setRef(revision, to: commit)
        return cache.snapshot(commit)
    }

    /// Downloads one file into `blob`, resuming `blob.incomplete`, then checks its size and hash.
    private func fetch(repo: String, commit: String, file: String, to blob: String, size: Int64, etag: String, label: String) throws(HubError) {
        let partial = blob + ".incomplete"
        let fm = FileManager.default
        if !fm.fileExists(atPath: partial) { _ = fm.createFile(atPath: partial, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: partial) else { throw HubError("cannot write \(partial)") }
        defer { try? handle.close() }
        var offset = (try? handle.seekToEnd()).map(Int64.init) ?? 0
        if offset > size { try? handle.truncate(atOffset: 0); offset = 0 }
        let progress = DownloadProgress(label: label, total: size, resumedFrom: offset)
        while offset < size {
            let end = min(size, offset + Self.chunk) - 1
            let response = try http.send("GET", "/\(repo)/resolve/\(commit)/\(Self.escape(file))", range: offset...end)
            try http.check(response, repo: repo, file: file)
            // A server that ignores Range sends the whole file: keep only the part asked for.
            let body = response.status == 206 ? response.body : response.body.dropFirst(Int(offset)).prefix(Int(end - offset + 1))
            guard !body.isEmpty else { throw HubError("\(settings.endpoint) sent no data for '\(repo)/\(file)' at byte \(offset)") }
            do { try handle.write(contentsOf: body) } catch { throw HubError("cannot write \(partial): \(error.localizedDescription)") }
            offset += Int64(body.count)
            progress.advance(to: offset)
        }
        progress.finish()
        try? handle.close()
        guard Self.fileSize(partial) == size else { throw HubError("'\(repo)/\(file)' downloaded to the wrong size; delete \(partial) and retry") }
        try Self.verify(partial, etag: etag, size: size, name: "\(repo)/\(file)")
        do { try? fm.removeItem(atPath: blob); try fm.moveItem(atPath: partial, toPath: blob) } catch {
            throw HubError("cannot move \(partial) into place: \(error.localizedDescription)")
        }
    }

    /// LFS files' ETag is their sha256; other files' is the git blob sha1 ("blob <size>\0" + contents). A file whose
    /// hash differs is deleted, so the next run downloads it again.
    static func verify(_ path: String, etag: String, size: Int64, name: String) throws(HubError) {
        guard etag.count == 64 || etag.count == 40, etag.allSatisfy(\.isHexDigit), let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        var sha256 = SHA256(), sha1 = Insecure.SHA1()
        if etag.count == 40 { sha1.update(data: Data("blob \(size)\0".utf8)) }
        while let data = try? handle.read(upToCount: 8 << 20), !data.isEmpty {
            if etag.count == 64 { sha256.update(data: data) } else { sha1.update(data: data) }
        }
        let digest = etag.count == 64 ? sha256.finalize().map { String(format: "%02x", $0) }.joined()
                                       : sha1.finalize().map { String(format: "%02x", $0) }.joined()
        guard digest == etag.lowercased() else {
            try? FileManager.default.removeItem(atPath: path)
            throw HubError("'\(name)' failed its checksum (expected \(etag), got \(digest)); the partial file was deleted, retry")
        }
    }

    static func unquote(_ etag: String) -> String {
        var e = etag.trimmingCharacters(in: .whitespaces)
        if e.hasPrefix("W/") { e.removeFirst(2) }
        return e.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    static func escape(_ path: String) -> String {
        path.split(separator: "/").map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? String($0) }.joined(separator: "/")
    }

    static func fileSize(_ path: String) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
    }
}
