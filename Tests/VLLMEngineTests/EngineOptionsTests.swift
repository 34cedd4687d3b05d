import Foundation
import Testing
import VLLMEngine

/// The KV budget when `--kv-cache-space` is not given: 2 GiB, or a quarter of the available memory when less.
@Test func defaultKVBudgetIsTwoGiBOrAQuarterOfAvailableMemory() throws {
    let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
    let line = try #require(meminfo.split(separator: "\n").first { $0.hasPrefix("MemAvailable:") })
    let availableGiB = try #require(Double(line.split(separator: " ")[1])) / 1_048_576
    let budget = EngineOptions.defaultKVCacheSpaceGiB()
    #expect(budget <= 2 && budget >= 1.0 / 16)
    // MemAvailable moves between the two reads; a tenth of a GiB of slack.
    #expect(budget <= availableGiB / 4 + 0.1 || budget == 2)
    #expect(EngineOptions().kvCacheSpaceGiB == nil, "nil means: use the default")
}

@Test func theDefaultKVBudgetRule() {
    let gib = 1_048_576.0  // KiB
    #expect(EngineOptions.defaultKVCacheSpaceGiB(availableKiB: 64 * gib) == 2)
    #expect(EngineOptions.defaultKVCacheSpaceGiB(availableKiB: 4 * gib) == 1)
    #expect(EngineOptions.defaultKVCacheSpaceGiB(availableKiB: 0.1 * gib) == 1.0 / 16)
    #expect(EngineOptions.defaultKVCacheSpaceGiB(availableKiB: nil) == 2)
}
