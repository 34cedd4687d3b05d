import Dispatch
import Synchronization

/// Holds back the background work that makes a loaded model faster (its packed weights collapsed into huge pages,
/// its KV cache's pages faulted in at idle priority) until start-up is over: `vllm serve` opens the gate once it
/// listens, `LLM` once its engine is built. On a VM each page fault of that work can stall a virtual CPU in the host,
/// where no guest priority reaches, and during start-up it made the 1.5B's first `/health` 0.4-1.5 s later. A gate
/// nobody opens lets the work start after `timeout` seconds anyway.
public enum StartupGate {
    private static let group: DispatchGroup = {
        let group = DispatchGroup()
        group.enter()
        return group
    }()
    private static let opened = Atomic<Bool>(false)

    /// Lets the held-back work start (once; later calls do nothing).
    public static func open() {
        if opened.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged { group.leave() }
    }

    /// Blocks the calling background thread until the gate opens, `timeout` seconds have passed, or `cancelled`
    /// returns true (asked every 50 ms).
    public static func wait(timeout: Double = 10, cancelled: () -> Bool = { false }) {
        let deadline = DispatchTime.now() + timeout
        while !cancelled() && DispatchTime.now() < deadline {
            if group.wait(timeout: min(deadline, .now() + 0.05)) == .success { return }
        }
    }
}
