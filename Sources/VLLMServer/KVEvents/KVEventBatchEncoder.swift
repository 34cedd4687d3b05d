import Foundation
import VLLMEngine

/// Encodes one step's KV events the way vLLM (0.28 on) publishes them: msgspec's array-like `KVEventBatch`
/// `[ts, [event, ...]]`, each event a map tagged by `type` (`{"type": "BlockStored", "block_hashes", "parent_block_hash",
/// "token_ids", "block_size", "lora_id", "medium", "lora_name"}`, `{"type": "BlockRemoved", "block_hashes", "medium"}`,
/// `{"type": "AllBlocksCleared"}`; fields at their defaults are left out, as msgspec's `omit_defaults` does), sent as
/// the multipart message `[topic, sequence (8 bytes, big-endian), payload]`.
struct KVEventBatchEncoder {
    /// The storage tier named in events: vLLM's primary KV tier is "GPU" whatever the device (its CPU backend
    /// reports the same); routers credit other tiers ("CPU", "DISK") as offloaded copies.
    static let medium = "GPU"

    let topic: [UInt8]
    private(set) var sequence: UInt64 = 0

    init(topic: String) { self.topic = Array(topic.utf8) }

    /// The message frames for `events`, stamped `timestamp` (seconds since 1970), with the next sequence number.
    mutating func frames(_ events: [KVCacheEvent], timestamp: Double = Date().timeIntervalSince1970) -> [[UInt8]] {
        var seq: [UInt8] = []
        withUnsafeBytes(of: sequence.bigEndian) { seq += $0 }
        sequence += 1
        return [topic, seq, Self.payload(events, timestamp: timestamp)]
    }

    static func payload(_ events: [KVCacheEvent], timestamp: Double) -> [UInt8] {
        var w = MessagePackWriter()
        w.writeArrayHeader(2)
        w.write(timestamp)
        w.writeArrayHeader(events.count)
        for event in events {
            switch event {
            case let .blockStored(hashes, parent, tokenIDs, blockSize):
                w.writeMapHeader(8)
                w.write("type"); w.write("BlockStored")
                w.write("block_hashes"); w.writeArrayHeader(hashes.count)
                for hash in hashes { w.write(hash) }
                w.write("parent_block_hash")
                if let parent { w.write(parent) } else { w.writeNil() }
                w.write("token_ids"); w.writeArrayHeader(tokenIDs.count)
                for token in tokenIDs { w.write(Int64(token)) }
                w.write("block_size"); w.write(Int64(blockSize))
                w.write("lora_id"); w.writeNil()
                w.write("medium"); w.write(medium)
                w.write("lora_name"); w.writeNil()
            case let .blockRemoved(hashes):
                w.writeMapHeader(3)
                w.write("type"); w.write("BlockRemoved")
                w.write("block_hashes"); w.writeArrayHeader(hashes.count)
                for hash in hashes { w.write(hash) }
                w.write("medium"); w.write(medium)
            case .allBlocksCleared:
                w.writeMapHeader(1)
                w.write("type"); w.write("AllBlocksCleared")
            }
        }
        return w.bytes
    }
}
