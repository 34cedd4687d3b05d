#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A model directory and the files it may name: a shard listed in an index must be a relative path that stays
/// inside the directory once symlinks are followed, so that a hostile `model.safetensors.index.json` (or a cloned
/// repository's symlink) cannot make the engine read `/etc/passwd` or a file outside the model. In the Hugging
/// Face cache a snapshot's files are symlinks to `../../blobs/<hash>`: the repository's `blobs` folder is inside too.
struct ModelFolder {
    let path: String
    /// Where the directory and the blobs folder (when it is a cache snapshot) really are, with a trailing `/`.
    private let roots: [String]

    init(_ path: String) throws(ModelFormatError) {
        self.path = path
        guard let real = Self.realPath(path) else {
            throw ModelFormatError("cannot open the model directory '\(path)': \(String(cString: strerror(errno)))")
        }
        var roots = [real + "/"]
        let parts = real.split(separator: "/")
        if parts.count >= 3, parts[parts.count - 2] == "snapshots", let blobs = Self.realPath(real + "/../../blobs") {
            roots.append(blobs + "/")
        }
        self.roots = roots
    }

    /// Refuses a name from an index that is empty, absolute or climbs out with `..`.
    func checkShardName(_ name: String, listedIn index: String) throws(ModelFormatError) {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\0"), !components.contains(".."),
              !components.contains(where: \.isEmpty) else {
            throw ModelFormatError("'\(index)' lists the shard '\(name)', which is not a file name inside the model directory")
        }
    }

    /// The path of `name` inside the folder; refuses one whose symlinks lead outside it. A missing file is left
    /// for the opener to report.
    func resolve(_ name: String) throws(ModelFormatError) -> String {
        let full = path + "/" + name
        guard let real = Self.realPath(full) else { return full }
        guard roots.contains(where: { real.hasPrefix($0) }) else {
            throw ModelFormatError("'\(full)' is a symlink to a file outside the model directory '\(path)'; refusing to read it")
        }
        return full
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
