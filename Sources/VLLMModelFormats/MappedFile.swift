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

    /// Maps `path`, failing with a clear message when it is missing, a directory, or unreadable.
    public init(path: String) throws(ModelFormatError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw ModelFormatError("cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ModelFormatError("cannot stat '\(path)': \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw ModelFormatError("'\(path)' is not a regular file")
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
