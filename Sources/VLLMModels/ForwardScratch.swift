import VLLMKernels

/// Activation buffers of one forward pass, grown to the largest batch seen and then reused.
final class ForwardScratch {
    let residual = AlignedBuffer<Float>()   // x    [tokens, hidden]
    let normed = AlignedBuffer<Float>()     // h    [tokens, hidden]
    let query = AlignedBuffer<Float>()      // q    [tokens, heads * headDim]
    let key = AlignedBuffer<Float>()        // k    [tokens, kvHeads * headDim]
    let value = AlignedBuffer<Float>()      // v    [tokens, kvHeads * headDim]
    let attention = AlignedBuffer<Float>()  // a    [tokens, heads * headDim]
    let projected = AlignedBuffer<Float>()  // Wo a, Wdown m   [tokens, hidden]
    let gate = AlignedBuffer<Float>()       // [tokens, intermediate]
    let up = AlignedBuffer<Float>()         // [tokens, intermediate]
    let finalHidden = AlignedBuffer<Float>()  // normed last hidden states of the logit rows [logit rows, hidden]
    let logits = AlignedBuffer<Float>()     // [logit rows, vocab] (this rank's run of it under tensor parallelism)
    let gatheredLogits = AlignedBuffer<Float>()  // tensor parallelism, rank 0: every rank's runs back to back
    let fullLogits = AlignedBuffer<Float>()      // tensor parallelism, rank 0: [logit rows, vocab]
    let positions = AlignedBuffer<Int32>()  // [tokens]
    let ropeCos = AlignedBuffer<Float>()    // [tokens, headDim / 2] cos(position * inverse frequency), for all layers
    let ropeSin = AlignedBuffer<Float>()    // [tokens, headDim / 2]
    let slots = AlignedBuffer<Int>()        // [tokens] cache slot of each new token
    let normVectors = AlignedBuffer<Float>()  // [2, hidden] the running prepare step's norm weight and bias
}
