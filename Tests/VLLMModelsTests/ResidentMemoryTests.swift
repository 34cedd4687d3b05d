#if os(Linux)
import Foundation
import Testing
import VLLMKernels
import VLLMModelFormats
@testable import VLLMModels

/// Once every matmul weight has its packed copy, the model drops its mappings of the GGUF file's pages, so the
/// weights are resident once (as panels), not twice. Read from the kernel's own account in /proc/self/smaps.
struct ResidentMemoryTests {
    /// Whether this CPU packs Q4_1 weights (AVX2 or better): without packing the map is the only copy and stays.
    static let packs: Bool = {
        let zeros = [UInt8](repeating: 0, count: 16 * 20)  // 16 rows of one 20-byte Q4_1 block
        return zeros.withUnsafeBytes {
            PackedWeights(WeightMatrix(typeID: 3 /* Q4_1 */, rows: 16, columns: 32, base: $0.baseAddress!), pool: ThreadPool(threadCount: 1)) != nil
        }
    }()

    @Test(.enabled(if: packs)) func theFileIsNotResidentBesideItsPackedCopy() throws {
        let file = try GGUFFile(path: ModelHarness.defaultModelPath)
        let model = try ModelLoader.load(gguf: file, pool: ThreadPool(threadCount: 2))
        let mapping = file.file.bytes
        let resident = try #require(try Self.residentKiB(startingAt: UInt(bitPattern: mapping.baseAddress)))
        withExtendedLifetime(model) {}
        // Packing read every matmul weight (about 98% of the file); after the release none of it is mapped in.
        #expect(resident < mapping.count / 1024 / 10, "\(resident) KiB of the \(mapping.count / 1024) KiB map still resident")
    }

    /// A fresh cache is not resident; `prefaultInBackground()` makes all of it resident without anyone writing
    /// to it (on an idle-priority thread, so the test allows a busy machine a minute).
    @Test func theKVCacheIsFaultedInInTheBackground() throws {
        let cache = PagedKVCache(blockCount: 2048, blockSize: 16, layerCount: 2, kvHeadCount: 1, headDim: 64, type: .f16)
        let start = UnsafeMutableRawPointer(cache.layer(0).keys)
        let total = cache.byteCount / 1024
        #expect(try Self.residentKiB(start, bytes: cache.byteCount) < total / 10, "a fresh mapping is not resident")
        cache.prefaultInBackground()
        var resident = 0
        for _ in 0..<600 {
            resident = try Self.residentKiB(start, bytes: cache.byteCount)
            if resident >= total { break }
            usleep(100_000)
        }
        #expect(resident >= total, "\(resident) of \(total) KiB resident after prefaulting")
    }

    /// The cache is fenced by an inaccessible page on each side, so it never merges with neighbouring anonymous
    /// memory: /proc/self/maps shows it as one read-write area of exactly its size, between two `---p` pages.
    @Test func theKVCacheMappingIsFencedByGuardPages() throws {
        let cache = PagedKVCache(blockCount: 2048, blockSize: 16, layerCount: 2, kvHeadCount: 1, headDim: 64, type: .f16)
        let start = UInt(bitPattern: cache.layer(0).keys), bytes = UInt(cache.byteCount)  // layers are page multiples
        // Read to the end, as residentKiB(startingAt:) does: proc files report size 0.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/maps"))
        let text = String(decoding: try #require(try handle.readToEnd()), as: UTF8.self)
        let maps = text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            let range = fields[0].split(separator: "-").compactMap { UInt($0, radix: 16) }
            return range.count == 2 ? (start: range[0], end: range[1], perms: String(fields[1])) : nil
        }
        let area = try #require(maps.first { $0.start == start }, "no mapping starts at the cache")
        #expect(area.end - area.start == bytes && area.perms.hasPrefix("rw"))
        #expect(maps.first { $0.end == start }?.perms == "---p", "guard page before the cache")
        #expect(maps.first { $0.start == start + bytes }?.perms == "---p", "guard page after the cache")
        withExtendedLifetime(cache) {}
    }

    /// Resident KiB of the range from mincore(2): exact for the range even when the kernel merged its mapping with
    /// a neighbouring anonymous one (smaps then shows no mapping starting at the cache, as on one of our machines).
    static func residentKiB(_ start: UnsafeMutableRawPointer, bytes: Int) throws -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var flags = [UInt8](repeating: 0, count: (bytes + page - 1) / page)
        try #require(mincore(start, bytes, &flags) == 0, "mincore failed: errno \(errno)")
        return flags.reduce(0) { $0 + Int($1 & 1) } * page / 1024
    }

    /// The Rss of the mapping that starts at `address`, from /proc/self/smaps.
    static func residentKiB(startingAt address: UInt) throws -> Int? {
        // Read to the end: a proc file reports size 0, and String(contentsOfFile:) stops after its first 4 KiB.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps"), let data = try handle.readToEnd() else { return nil }
        let smaps = String(decoding: data, as: UTF8.self)
        var inside = false
        for line in smaps.split(separator: "\n") {
            // A mapping's header starts "start-end perms ..."; its fields ("Rss:   12 kB") follow it.
            if let dash = line.firstIndex(of: "-"), let start = UInt(line[..<dash], radix: 16) {
                inside = start == address
            } else if inside, line.hasPrefix("Rss:") {
                return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
            }
        }
        return nil
    }
}
#endif
