import Foundation
import Synchronization
import VLLMKernels

/// Faults in the pages of memory regions laid out by block (block `b` of region `r` spans
/// `start + b * bytesPerBlock ..< start + (b + 1) * bytesPerBlock`), a chunk of blocks across all regions at a
/// time in ascending block order, on its own thread at `SCHED_IDLE` priority once `StartupGate` opens: it runs only when a core would
/// otherwise idle. `madvise(MADV_POPULATE_WRITE)` maps the pages writable without touching their contents, so
/// it is safe beside threads that already write to the same pages. Where that call is unsupported (Linux
/// before 5.14, other systems) nothing is done and pages fault on first write as before.
final class BackgroundPrefault: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(regions: [(start: Int, bytesPerBlock: Int)], blockCount: Int, blocksPerChunk: Int) {
        let thread = Thread { [self] in
            defer { finished.signal() }
            StartupGate.wait { stopping.load(ordering: .relaxed) }
            #if os(Linux)
            var parameters = sched_param(sched_priority: 0)
            _ = sched_setscheduler(0, Self.schedIdle, &parameters)  // this thread only (Linux: pid 0 = caller)
            let page = 4096
            for first in stride(from: 0, to: blockCount, by: blocksPerChunk) {
                let end = min(blockCount, first + blocksPerChunk)
                for (start, perBlock) in regions {
                    if stopping.load(ordering: .relaxed) { return }
                    let lower = (start + first * perBlock) / page * page
                    let upper = start + end * perBlock
                    guard let p = UnsafeMutableRawPointer(bitPattern: lower),
                          madvise(p, upper - lower, Self.populateWrite) == 0 else { return }
                }
            }
            #endif
        }
        thread.name = "vllm-kv-prefault"
        thread.start()
    }

    /// Stops the thread and waits for it (at most one chunk): call before the regions are unmapped.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
    }

    /// Linux's values; Glibc declares them only under _GNU_SOURCE.
    private static let schedIdle: Int32 = 5
    private static let populateWrite: Int32 = 23
}
