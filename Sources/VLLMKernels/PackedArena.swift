#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Memory for a model's packed weight copies: 64-byte aligned pieces cut in order from 2 MiB-aligned chunks.
/// Cutting every matrix from shared chunks keeps them dense (0.3-1 MiB matrices, 40 MB of padding for SmolLM2 if
/// each were rounded up to 2 MiB); at most the untouched tail of the last chunk goes unused. A chunk is freed when
/// the last packed copy cut from it is.
///
/// Huge pages come after the load, not during it. Decode streams all the weights every step, and one TLB entry then
/// covers 2 MiB of them instead of 4 KiB (128-token decodes measured 5.5-8% faster on this VM). But on a VM whose
/// host takes back free guest memory (free page reporting of 2 MiB blocks), a fresh huge page costs about 6 s a GiB
/// to fault in after a few seconds of idleness, a 4 KiB page 0.4 s a GiB: packed into huge pages, the 1.5B's 954
/// MiB took 4-6 s to load instead of under 1. So chunks are packed on 4 KiB pages, and
/// `promoteToHugePagesInBackground()` then collapses them into huge pages (`MADV_COLLAPSE`) on a thread of its
/// own while the model already serves.
public final class PackedArena: Sendable {
    /// One chunk; every `PackedWeights` cut from it holds it.
    final class Chunk: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let bytes: Int

        init(bytes: Int) {
            self.bytes = bytes
            var pointer: UnsafeMutableRawPointer?
            guard posix_memalign(&pointer, PackedArena.hugePage, bytes) == 0, let pointer else {
                fatalError("out of memory: \(bytes) bytes for packed weights")
            }
            base = pointer
        }

        deinit { free(base) }
    }

    /// A chunk the arena cut from, not kept alive by it.
    private struct ChunkReference {
        weak var chunk: Chunk?
    }

    private struct State {
        var chunk: Chunk?
        var used = 0
        var chunks: [ChunkReference] = []
    }

    private let state = Mutex(State())
    private let chunkBytes: Int

    /// An arena cutting from chunks of `chunkBytes` (rounded up to 2 MiB); a larger piece gets a chunk of its own.
    public init(chunkBytes: Int = 16 << 20) {
        self.chunkBytes = (max(chunkBytes, 1) + Self.hugePage - 1) / Self.hugePage * Self.hugePage
    }

    /// `bytes` of uninitialised memory, 64-byte aligned, and the chunk that must outlive their use.
    func allocate(_ bytes: Int) -> (chunk: Chunk, pointer: UnsafeMutableRawPointer) {
        let size = (max(bytes, 1) + 63) / 64 * 64
        return state.withLock { s in
            if let chunk = s.chunk, s.used + size <= chunk.bytes {
                defer { s.used += size }
                return (chunk, chunk.base + s.used)
            }
            let chunk = Chunk(bytes: max(chunkBytes, (size + Self.hugePage - 1) / Self.hugePage * Self.hugePage))
            s.chunks.append(ChunkReference(chunk: chunk))
            // A piece that filled its own chunk leaves the current one (and its free tail) to the next piece.
            if size < chunkBytes { s.chunk = chunk; s.used = size }
            return (chunk, chunk.base)
        }
    }

    /// Starts collapsing every chunk cut so far into transparent huge pages, a chunk at a time, on a thread of its own
    /// once `StartupGate` opens; returns at once. The thread has normal priority: at idle priority it never ran
    /// while a benchmark kept both cores busy, and the 1.5B then decoded on 4 KiB pages at 27-30 tokens/s instead of
    /// 37-42. It takes 0.1-0.2 s of a core a GiB, up to 5 s when the VM's memory is cold. The weights' values do
    /// not change, and kernels may read them meanwhile. Chunks freed before their turn are skipped. Where the
    /// kernel has no `MADV_COLLAPSE` (Linux before 6.1), the chunks are only advised (`MADV_HUGEPAGE`), for
    /// khugepaged to collapse in its own time; elsewhere nothing is done.
    /// The semaphore is signalled when the thread is done.
    @discardableResult
    public func promoteToHugePagesInBackground() -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        #if os(Linux)
        let chunks = state.withLock { $0.chunks }
        let thread = Thread {
            defer { done.signal() }
            StartupGate.wait { chunks.allSatisfy { $0.chunk == nil } }
            for reference in chunks {
                guard let chunk = reference.chunk else { continue }
                _ = madvise(chunk.base, chunk.bytes, Self.adviseHugePage)
                // One call a chunk: each call first drains every CPU's page lists, milliseconds when cores are busy
                // (a call every 2 MiB collapsed 22 MB/s). A chunk that fails as a whole (one huge page of it could
                // not be made) is retried 2 MiB at a time; without MADV_COLLAPSE every call fails at once.
                if madvise(chunk.base, chunk.bytes, Self.adviseCollapse) == 0 { continue }
                for offset in stride(from: 0, to: chunk.bytes, by: Self.hugePage) {
                    _ = madvise(chunk.base + offset, Self.hugePage, Self.adviseCollapse)
                }
            }
        }
        thread.name = "vllm-huge-pages"
        thread.start()
        #else
        done.signal()
        #endif
        return done
    }

    static let hugePage = 2 << 20
    /// Linux's MADV_HUGEPAGE and MADV_COLLAPSE (Glibc declares them only under _GNU_SOURCE).
    static let adviseHugePage: Int32 = 14
    static let adviseCollapse: Int32 = 25
}
