#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Weights are used in place from the map, never copied.
public final class MappedFile: Sendable {
    /// The file's path as given.
    public let path: String
    /// The mapped bytes; valid for the lifetime of this object.
    // Read-only for the object's whole life, so sharing it across threads is safe.
    nonisolated(unsafe) public let bytes: UnsafeRawBufferPointer

    /// Maps `path`, failing with a clear message when it is missing, not a regular file, or unreadable. The type is
    /// checked before `open()` (which would block forever on a FIFO), and again on the open descriptor (opened
    /// non-blocking) in case the path was swapped in between.
    public init(path: String) throws(ModelFormatError) {
        self.path = path
        try Self.checkRegularFile(path)
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw ModelFormatError("cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ModelFormatError("cannot stat '\(path)': \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ModelFormatError("'\(path)' is \(Self.kind(info.st_mode)), not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw ModelFormatError("cannot map '\(path)': \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Fails unless `path` (after symlinks) is a regular file: a FIFO, device, socket or directory where a model
    /// file is expected is refused by name, without opening it.
    public static func checkRegularFile(_ path: String) throws(ModelFormatError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ModelFormatError("cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ModelFormatError("'\(path)' is \(kind(info.st_mode)), not a regular file")
        }
    }

    /// The bytes of a small file (a JSON config or index, a chat template), or nil when nothing is at `path`. Refuses
    /// what is not a regular file, or is larger than `limit` bytes, by name.
    public static func contents(of path: String, limit: Int = 64 << 20) throws(ModelFormatError) -> [UInt8]? {
        var info = stat()
        guard stat(path, &info) == 0 || errno != ENOENT else { return nil }
        let file = try MappedFile(path: path)
        guard file.bytes.count <= limit else {
            throw ModelFormatError("'\(path)' is \(file.bytes.count) bytes, more than the \(limit) allowed for it")
        }
        return Array(file.bytes)
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFDIR: "a directory"
        case S_IFSOCK: "a socket"
        default: "of an unknown type"
        }
    }

    /// Drops this process's mappings of the file's pages (they stay in the page cache and fault back in
    /// when read again): after the weights have been copied into another layout, the file no longer counts
    /// twice in the process's resident memory.
    public func releaseResidentPages() {
        guard let base = bytes.baseAddress else { return }
        #if os(Linux)
        _ = madvise(UnsafeMutableRawPointer(mutating: base), bytes.count, MADV_DONTNEED)
        #endif
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
