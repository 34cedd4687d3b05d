import VLLMKernels

extension BertModel {
    /// Runs the embeddings and every layer over whole sequences starting at position 0; returns the final hidden
    /// states of every token, `[tokens, hidden]`, valid until the next call. The KV cache is not used: attention
    /// reads each layer's keys and values of the whole sequence from this step's rows.
    func encode(_ batch: ForwardBatch) -> UnsafeMutablePointer<Float> {
        let c = configuration, count = batch.tokens.count
        let hidden = c.hiddenSize, width = c.intermediateSize, eps = layerNormEps
        let s = scratch
        let x = s.residual.reserve(count * hidden), embeddingRows = s.normed.reserve(count * hidden)
        let q = s.query.reserve(count * hidden), k = s.key.reserve(count * hidden), v = s.value.reserve(count * hidden)
        let attention = s.attention.reserve(count * hidden), projected = s.projected.reserve(count * hidden)
        let intermediate = s.gate.reserve(count * width)
        // Each token's position-embedding row.
        let rowIDs = embeddingRowIDs.reserve(count)
        for sequence in batch.sequences {
            precondition(sequence.tokenCount <= c.maxPositions, "a sequence longer than the position embeddings")
            for i in 0..<sequence.tokenCount { rowIDs[sequence.tokenStart + i] = Int32(i) }
        }
        // x = LayerNorm(word + position + token type 0).
        batch.tokens.withUnsafeBufferPointer { tokenEmbedding.gatherRows($0.baseAddress!, count: count, into: x) }
        positionEmbedding.gatherRows(rowIDs, count: count, into: embeddingRows)
        for t in 0..<count { rowIDs[t] = 0 }
        let segmentRow = projected
        tokenTypeEmbedding.gatherRows(rowIDs, count: 1, into: segmentRow)
        embeddingNormWeight.withUnsafeBufferPointer { w in
            embeddingNormBias.withUnsafeBufferPointer { b in
                threadPool.forEachItem(count) { t in
                    Kernels.addLayerNorm(x + t * hidden, adding: embeddingRows + t * hidden, yBias: segmentRow, weight: w.baseAddress!,
                                         bias: b.baseAddress!, count: hidden, eps: eps)
                }
            }
        }
        profiler?.lap("embedding")

        for layer in layers {
            runner.run(input: x, inputStride: hidden, tokens: count, jobs: [
                MatmulJob(matrix: layer.query, output: q), MatmulJob(matrix: layer.key, output: k), MatmulJob(matrix: layer.value, output: v),
            ])
            profiler?.lap("matmul qkv")
            withVectors(layer.queryBias, layer.keyBias, layer.valueBias) { qb, kb, vb in
                threadPool.forEachItem(count) { t in
                    Kernels.add(qb, to: q + t * hidden, count: hidden)
                    Kernels.add(kb, to: k + t * hidden, count: hidden)
                    Kernels.add(vb, to: v + t * hidden, count: hidden)
                }
            }
            profiler?.lap("qkv bias")
            attend(batch, q: q, k: k, v: v, out: attention)
            profiler?.lap("attention")
            runner.run(input: attention, inputStride: hidden, tokens: count, jobs: [MatmulJob(matrix: layer.attentionOutput, output: projected)])
            profiler?.lap("matmul attn output")
            // x = LayerNorm(x + Wo a + bo), in the pass that reads x for the up projection.
            withVectors(layer.attentionOutputBias, layer.attentionNormWeight, layer.attentionNormBias) { bo, w, b in
                runner.run(input: x, inputStride: hidden, tokens: count, jobs: [MatmulJob(matrix: layer.up, output: intermediate)]) { t in
                    Kernels.addLayerNorm(x + t * hidden, adding: projected + t * hidden, yBias: bo, weight: w, bias: b, count: hidden, eps: eps)
                }
            }
            profiler?.lap("norm + matmul up")
            layer.upBias.withUnsafeBufferPointer { ub in
                runner.run(input: intermediate, inputStride: width, tokens: count, jobs: [MatmulJob(matrix: layer.down, output: projected)]) { t in
                    let row = intermediate + t * width
                    Kernels.add(ub.baseAddress!, to: row, count: width)
                    Kernels.geluErf(row, into: row, count: width)
                }
            }
            profiler?.lap("gelu + matmul down")
            withVectors(layer.downBias, layer.outputNormWeight, layer.outputNormBias) { bd, w, b in
                threadPool.forEachItem(count) { t in
                    Kernels.addLayerNorm(x + t * hidden, adding: projected + t * hidden, yBias: bd, weight: w, bias: b, count: hidden, eps: eps)
                }
            }
            profiler?.lap("output norm")
        }
        return x
    }

    /// Attention of every token over all tokens of its sequence, from the layer's q, k and v rows (an encoder
    /// needs no cache: every key of a sequence is computed in this step): tasks over (sequence, head, 128 queries): each
    /// task transposes its head's keys once, so chunks of a few queries would spend as much on that as on attention.
    private func attend(_ batch: ForwardBatch, q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>,
                        v: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let c = configuration, hidden = c.hiddenSize, chunk = 128
        var tasks: [(sequence: Int, head: Int, first: Int, count: Int)] = []
        for (index, sequence) in batch.sequences.enumerated() {
            for first in stride(from: 0, to: sequence.tokenCount, by: chunk) {
                for head in 0..<c.headCount { tasks.append((index, head, first, min(chunk, sequence.tokenCount - first))) }
            }
        }
        let scale = 1 / Float(c.headDim).squareRoot()
        threadPool.parallelFor(tasks.count) { i in
            let task = tasks[i]
            let sequence = batch.sequences[task.sequence]
            let base = sequence.tokenStart * hidden + task.head * c.headDim
            Kernels.encoderAttention(query: q + base, key: k + base, value: v + base, out: out + base, stride: hidden,
                                     count: sequence.tokenCount, headDim: c.headDim, scale: scale,
                                     queries: task.first..<(task.first + task.count))
        }
    }

    /// Runs `body` with the base addresses of three vectors.
    private func withVectors(_ a: [Float], _ b: [Float], _ c: [Float],
                             _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeBufferPointer { c in body(a.baseAddress!, b.baseAddress!, c.baseAddress!) } } }
    }
}
