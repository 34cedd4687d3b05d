import CVLLMKernels
import Foundation
import Synchronization
import Testing
import VLLMKernels

/// A pinned ISA level (`vk_set_isa`, how tests run the AVX2 and portable paths of a whole model) holds in the thread
/// pool's tasks too, on every thread that runs them, and stops holding there once the caller unpins.
struct ISAPinTests {
    /// The ISA level each task saw, and how many distinct threads ran tasks.
    static func levels(_ pool: ThreadPool) -> (levels: Set<Int32>, threads: Int) {
        let seen = Mutex<(levels: Set<Int32>, threads: Set<UInt>, work: Int)>(([], [], 0))
        pool.parallelFor(256) { task in
            var work = 0
            for i in 0..<20_000 { work &+= i ^ task }  // long enough for the other threads to join the region
            let level = vk_get_isa(), thread = UInt(pthread_self())
            seen.withLock { $0.levels.insert(level); $0.threads.insert(thread); $0.work &+= work }
        }
        return seen.withLock { ($0.levels, $0.threads.count) }
    }

    @Test func thePoolRunsTheCallersPinnedLevel() {
        let pool = ThreadPool(threadCount: 2)
        vk_set_isa(Int32(VK_ISA_SCALAR))
        let pinned = Self.levels(pool)
        vk_set_isa(-1)
        #expect(pinned.levels == [Int32(VK_ISA_SCALAR)], "threads used: \(pinned.threads)")
        let unpinned = Self.levels(pool)
        #expect(unpinned.levels == [vk_cpu_isa()])
    }
}
