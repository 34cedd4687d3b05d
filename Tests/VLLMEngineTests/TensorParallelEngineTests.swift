import Foundation
import Testing
import VLLMEngine

/// `LLM(model:gpuMemoryUtilization:tensorParallelSize:)` with a real `vllm tp-worker` process (the `vllm` binary the
/// test build made, beside the test bundle): batch invariance holds across the group as in one process.
@Suite(.serialized)
struct TensorParallelEngineTests {
    @Test func twoRanksAreBatchInvariant() throws {
        var options = EngineOptions()
        options.enablePrefixCaching = false
        let llm = try LLM(model: BatchInvarianceTests.modelPath, gpuMemoryUtilization: 0.3, tensorParallelSize: 2, options: options)
        #expect(llm.core.options.tensorParallelSize == 2)
        let prompts = BatchInvarianceTests.prompts(llm)
        let parameters = prompts.indices.map { BatchInvarianceTests.parameters(seeded: $0 % 2 == 1, index: $0) }
        let together = try llm.generate(requests: prompts.indices.map { (prompts[$0], parameters[$0]) }).map { $0.outputs[0].tokenIDs }
        for i in [0, 9, 17, 40, 63] {
            let alone = try llm.generate(requests: [(prompts[i], parameters[i])])[0].outputs[0].tokenIDs
            #expect(alone == together[i], "request \(i)")
        }
    }
}
