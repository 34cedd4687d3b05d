import CVLLMKernels
#if canImport(Glibc)
import Glibc
#endif

/// Which cores each tensor-parallel rank's threads run on: vLLM's `VLLM_CPU_OMP_THREADS_BIND`. `auto` (the default)
/// gives rank r the allowed cores of NUMA node r when there are at least `size` nodes with allowed cores (vLLM's rule:
/// a rank per node, its memory local), else cuts the allowed cores into `size` consecutive, equal parts (this host
/// has one node); `all` pins nothing; otherwise one list per rank, ranks separated by `|`, each a comma-separated list
/// of cores and ranges (`0-3|4-7`, `0,2|1,3`).
public struct CPUBinding: Sendable, Equatable {
    /// Each rank's cores; empty for `all`.
    public let ranks: [[Int32]]

    /// Each rank's cores as given.
    public init(ranks: [[Int32]]) { self.ranks = ranks }

    /// Parses `VLLM_CPU_OMP_THREADS_BIND` for `size` ranks over the `allowed` cores; errors name the variable.
    /// `nodes`: each NUMA node's cores (`numaNodes()` by default).
    public init(_ value: String?, size: Int, allowed: [Int32] = CPUBinding.allowedCPUs(),
                nodes: [[Int32]] = CPUBinding.numaNodes()) throws(CommunicatorError) {
        let spec = (value ?? "auto").trimmingWhitespace
        if spec == "all" || spec == "nobind" { ranks = []; return }
        let usable = nodes.map { $0.filter(allowed.contains) }.filter { !$0.isEmpty }
        if (spec == "auto" || spec.isEmpty) && usable.count >= size && size > 1 {
            ranks = Array(usable.prefix(size))
            return
        }
        if spec == "auto" || spec.isEmpty {
            guard allowed.count >= size else {
                throw CommunicatorError("--tensor-parallel-size \(size) needs at least \(size) cores; this process may use \(allowed.count)")
            }
            ranks = (0..<size).map { r in Array(allowed[(r * allowed.count / size)..<((r + 1) * allowed.count / size)]) }
            return
        }
        let parts = spec.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == size else {
            throw CommunicatorError("VLLM_CPU_OMP_THREADS_BIND='\(spec)' lists \(parts.count) rank(s) ('|'-separated) but --tensor-parallel-size is \(size)")
        }
        var ranks: [[Int32]] = []
        for part in parts {
            var cores: [Int32] = []
            for item in part.split(separator: ",") {
                let bounds = item.split(separator: "-").map { Int32($0.trimmingWhitespace) }
                guard (1...2).contains(bounds.count), bounds.allSatisfy({ $0 != nil && $0! >= 0 }), bounds.first!! <= bounds.last!! else {
                    throw CommunicatorError("VLLM_CPU_OMP_THREADS_BIND='\(spec)': '\(item)' is not a core or a range of cores (like 0-3)")
                }
                cores += Array(bounds.first!!...bounds.last!!)
            }
            guard !cores.isEmpty else { throw CommunicatorError("VLLM_CPU_OMP_THREADS_BIND='\(spec)' gives a rank no cores") }
            ranks.append(cores)
        }
        self.ranks = ranks
    }

    /// The cores of `rank`, nil when nothing is pinned.
    public func cores(rank: Int) -> [Int32]? { ranks.isEmpty ? nil : ranks[rank] }

    /// Compute threads for `rank`: `given` (`--threads`), else one per core of its share, else one per allowed core.
    public func threadCount(rank: Int, given: Int?) -> Int {
        given ?? cores(rank: rank)?.count ?? Self.allowedCPUs().count
    }

    /// Pins the calling thread, and the threads it starts afterwards, to `rank`'s cores (nothing for `all`).
    public func pinCurrentThread(rank: Int) throws(CommunicatorError) {
        guard let cores = cores(rank: rank) else { return }
        let error = cores.withUnsafeBufferPointer { vk_pin_current_thread($0.baseAddress, Int32($0.count)) }
        if error != 0 { throw CommunicatorError("cannot pin rank \(rank) to cores \(cores): error \(error)") }
    }

    /// Each NUMA node's cores, from /sys/devices/system/node/node*/cpulist (empty where that is absent).
    public static func numaNodes(root: String = "/sys/devices/system/node") -> [[Int32]] {
        var nodes: [[Int32]] = []
        for n in 0..<1024 {
            guard let list = readText(root + "/node\(n)/cpulist") else { break }
            nodes.append(list.split(separator: ",").flatMap { item -> [Int32] in
                let bounds = item.split(separator: "-").compactMap { Int32($0.trimmingWhitespace) }
                guard let low = bounds.first, let high = bounds.last, low <= high else { return [] }
                return Array(low...high)
            })
        }
        return nodes
    }

    private static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The cores this thread may run on.
    public static func allowedCPUs() -> [Int32] {
        var cpus = [Int32](repeating: 0, count: 1024)
        let n = vk_allowed_cpus(&cpus, Int32(cpus.count))
        return n > 0 ? Array(cpus.prefix(Int(n))) : [0]
    }
}

private extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
