import Testing
import VLLMEngine

/// vLLM's `cache_salt`: requests with different salts never share prefix-cache blocks; the same salt shares as
/// an unsalted request does.
struct CacheSaltTests {
    static func request(_ h: inout SchedulerHarness, id: Int, prompt: [Int32], salt: String?) -> Request {
        var parameters = SamplingParameters()
        parameters.maxTokens = 3
        parameters.cacheSalt = salt
        let request = Request(id: id, promptTokenIDs: prompt, parameters: parameters, maxModelLength: 1024,
                              cacheKey: salt.map(BlockHash.saltKey) ?? 0)
        h.scheduler.add(request)
        return request
    }

    @Test(arguments: [("alice", "bob", 0), ("alice", "alice", 40), (nil, "alice", 0), ("alice", nil, 0)] as [(String?, String?, Int)])
    func onlyTheSameSaltSharesThePrefix(_ first: String?, _ second: String?, _ hits: Int) {
        var h = SchedulerHarness(blocks: 64, blockSize: 4, budget: 256)
        let prefix = (0..<40).map { Int32($0 % 90) }
        _ = Self.request(&h, id: 1, prompt: prefix + [91, 92], salt: first)
        h.run()
        let b = Self.request(&h, id: 2, prompt: prefix + [93], salt: second)
        _ = h.scheduler.schedule()
        #expect(b.cachedPromptTokenCount == hits, "\(String(describing: first)) then \(String(describing: second))")
    }

    @Test func saltKeysDifferAndAreNeverTheUnsaltedKey() {
        let keys = ["a", "b", "ab", "ba", String(repeating: "x", count: 1024), "é"].map(BlockHash.saltKey)
        #expect(Set(keys).count == keys.count)
        #expect(!keys.contains(0))
        #expect(BlockHash.saltKey("a") == BlockHash.saltKey("a"))
    }

    @Test func anEmptyOrOverlongSaltIsRefused() {
        var p = SamplingParameters()
        p.cacheSalt = ""
        #expect(throws: InvalidParameter.self) { try p.validate() }
        p.cacheSalt = String(repeating: "x", count: 1025)
        #expect(throws: InvalidParameter.self) { try p.validate() }
        p.cacheSalt = "ok"
        #expect(throws: Never.self) { try p.validate() }
    }
}
