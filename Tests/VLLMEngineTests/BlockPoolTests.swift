import Testing
import VLLMEngine

@Test(arguments: 1...6)
func allocationAndReleaseKeepInvariants(blockCount: Int) {
    var pool = BlockPool(blockCount: blockCount)
    for take in 0...blockCount {
        let blocks = pool.allocate(take)
        #expect(blocks?.count == take)
        #expect(pool.freeCount == blockCount - take)
        #expect(pool.invariantViolation() == nil)
        #expect(pool.allocate(blockCount - take + 1) == nil, "over-allocation must fail")
        pool.release(blocks ?? [])
        #expect(pool.freeCount == blockCount)
        #expect(pool.invariantViolation() == nil)
    }
}

@Test func freedBlocksAreReusedLeastRecentlyFreedFirst() {
    var pool = BlockPool(blockCount: 4)
    let a = pool.allocate(4)!
    pool.release([a[2], a[0], a[3], a[1]])
    #expect(pool.allocate(4) == [a[2], a[0], a[3], a[1]])
}

@Test func cachedBlockSurvivesReleaseUntilReused() {
    var pool = BlockPool(blockCount: 2)
    let hash = BlockHash(parent: nil, tokens: [1, 2, 3, 4])
    let block = pool.allocate(1)![0]
    pool.cache(block, as: hash)
    pool.release([block])
    #expect(pool.cachedBlock(hash) == block, "a freed block stays hittable")
    pool.touch([block])
    #expect(pool.referenceCount(block) == 1 && pool.freeCount == 1)
    pool.release([block])
    _ = pool.allocate(2)
    #expect(pool.cachedBlock(hash) == nil, "reusing the block evicts its hash")
    #expect(pool.invariantViolation() == nil)
}

@Test func sharedBlocksCountReferences() {
    var pool = BlockPool(blockCount: 3)
    let b = pool.allocate(1)!
    pool.touch(b)
    pool.touch(b)
    #expect(pool.referenceCount(b[0]) == 3)
    pool.release(b)
    pool.release(b)
    #expect(pool.freeCount == 2)
    pool.release(b)
    #expect(pool.freeCount == 3 && pool.invariantViolation() == nil)
}

@Test func blockHashesChainOverParents() {
    let a = BlockHash(parent: nil, tokens: [1, 2])
    let b = BlockHash(parent: a, tokens: [3, 4])
    #expect(b != BlockHash(parent: nil, tokens: [3, 4]))
    #expect(b == BlockHash(parent: BlockHash(parent: nil, tokens: [1, 2]), tokens: [3, 4]))
    #expect(BlockHash(parent: nil, tokens: [1, 2], extraKey: 7) != a, "a cache salt separates prefixes")
}
