import Foundation
import Testing
import VLLMModelFormats
#if canImport(Glibc)
import Glibc
#endif

/// Files built to break the readers (issue 26): each must be a clear error naming the file and the problem, never a
/// trap, a hang, or a message quoting bytes of a file the model folder does not own.
struct HostileFileTests {
    /// A fresh directory under the temporary directory.
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "swift-vllm-hostile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A one-tensor F32 file `w` of `shape` at data offset `offset`, with 64 bytes of data after the aligned header.
    static func gguf(shape: [UInt64], offset: UInt64) -> [UInt8] {
        var b = GGUFBuilder()
        b.bytes += Array("GGUF".utf8)
        b.u32(3); b.u64(1); b.u64(0)
        b.string("w"); b.u32(UInt32(shape.count))
        for d in shape { b.u64(d) }
        b.u32(0); b.u64(offset)
        while b.bytes.count % 32 != 0 { b.bytes.append(0) }
        b.bytes += [UInt8](repeating: 0, count: 64)
        return b.bytes
    }

    @Test func ggufDimensionsOf2To32Squared() throws {
        let message = formatError { _ = try GGUFFile(path: try temporaryFile(Self.gguf(shape: [1 << 32, 1 << 32], offset: 0))) }
        #expect(message?.contains("tensor 'w'") == true && message?.contains("more bytes than any file holds") == true, "\(message ?? "accepted")")
    }

    /// ggml refuses a tensor offset that is not a multiple of `general.alignment` (32 by default); it loaded and read skewed data.
    @Test func aMisalignedTensorOffsetIsRefused() throws {
        let path = try temporaryFile(Self.gguf(shape: [4, 2], offset: 4))
        let message = formatError { _ = try GGUFFile(path: path) }
        #expect(message == "'\(path)' is corrupt: tensor 'w' has offset 4, not a multiple of the file's alignment (32)")
        _ = try GGUFFile(path: try temporaryFile(Self.gguf(shape: [4, 2], offset: 32)))
    }

    /// [2^32, 2^32] trapped on the element count's overflow; negative dimensions and reversed offsets are refused too.
    @Test(arguments: [#"[4294967296,4294967296]"#, #"[-2,3]"#, #"[2,1.5]"#, #"[18446744073709551616]"#, #"["2",3]"#])
    func safetensorsShapesThatOverflowOrMakeNoSenseAreRefused(_ shape: String) throws {
        let offsets = shape == "[-2,3]" ? "[24,0]" : "[0,24]"
        let header = #"{"w":{"dtype":"F32","shape":\#(shape),"data_offsets":\#(offsets)}}"#
        let path = try temporaryFile(safetensorsBytes(header: header, payload: [UInt8](repeating: 0, count: 24)), suffix: ".safetensors")
        let message = formatError { _ = try SafetensorsFile(path: path) }
        #expect(message?.contains("'\(path)'") == true && message?.contains("tensor 'w'") == true, "\(message ?? "accepted")")
    }

    /// A file that is not safetensors at all (here, text like /etc/passwd): its first 8 bytes were printed as the
    /// "header length".
    @Test func theErrorForANonSafetensorsFileQuotesNoneOfItsBytes() throws {
        let text = "root:x:0:0:root:/root:/bin/bash\n"
        let path = try temporaryFile(Array(text.utf8), suffix: ".safetensors")
        let message = try #require(formatError { _ = try SafetensorsFile(path: path) })
        let firstEight = Array(text.utf8.prefix(8)).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(!message.contains(String(firstEight)) && !message.contains("root:x"), "\(message)")
        #expect(message.contains("is not a safetensors file"), "\(message)")
    }

    /// A tiny valid shard holding one F32 tensor `name`.
    static func shard(_ name: String) -> [UInt8] {
        safetensorsBytes(header: #"{"\#(name)":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, payload: [0, 0, 128, 63])
    }

    static func writeIndex(_ directory: String, _ shard: String) throws {
        let json = #"{"metadata":{},"weight_map":{"w":"\#(shard)"}}"#
        try Data(json.utf8).write(to: URL(fileURLWithPath: directory + "/model.safetensors.index.json"))
    }

    @Test(arguments: ["../../../../etc/passwd", "/etc/passwd", "sub/../../outside.safetensors", ""])
    func anIndexNamingAFileOutsideTheFolderIsRefused(_ shard: String) throws {
        let directory = try Self.directory()
        try Self.writeIndex(directory, shard)
        let message = try #require(formatError { _ = try SafetensorsCheckpoint(directory: directory) })
        #expect(message.contains("lists the shard '\(shard)', which is not a file name inside the model directory"), "\(message)")
        #expect(!message.contains("root:"), "\(message)")
    }

    @Test func aShardSymlinkLeadingOutOfTheFolderIsRefused() throws {
        let outside = try temporaryFile(Self.shard("w"), suffix: ".safetensors")
        for indexed in [true, false] {
            let directory = try Self.directory()
            try FileManager.default.createSymbolicLink(atPath: directory + "/model.safetensors", withDestinationPath: outside)
            if indexed { try Self.writeIndex(directory, "model.safetensors") }
            let message = formatError { _ = try SafetensorsCheckpoint(directory: directory) }
            #expect(message == "'\(directory)/model.safetensors' is a symlink to a file outside the model directory '\(directory)'; refusing to read it")
        }
    }

    /// The Hugging Face cache: a snapshot's files are symlinks into the repository's `blobs` folder, and load.
    @Test func theHuggingFaceCacheLayoutStillLoads() throws {
        let repo = try Self.directory() + "/models--org--tiny"
        let snapshot = repo + "/snapshots/abc123"
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repo + "/blobs", withIntermediateDirectories: true)
        try Data(Self.shard("w")).write(to: URL(fileURLWithPath: repo + "/blobs/f00d"))
        try FileManager.default.createSymbolicLink(atPath: snapshot + "/model-00001.safetensors", withDestinationPath: "../../blobs/f00d")
        try Self.writeIndex(snapshot, "model-00001.safetensors")
        let checkpoint = try SafetensorsCheckpoint(directory: snapshot)
        #expect(checkpoint.tensorNames == ["w"])
    }

    /// A FIFO blocked `open()` forever (as the model path, config.json or a shard); a directory where a shard is
    /// expected is refused by name too.
    @Test func aFIFOOrDirectoryWhereAFileIsExpectedIsRefusedWithoutOpeningIt() throws {
        let directory = try Self.directory()
        let fifo = directory + "/model.gguf"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(formatError { _ = try GGUFFile(path: fifo) } == "'\(fifo)' is a FIFO, not a regular file")
        #expect(try ModelLocation.resolve(fifo) == .gguf(path: fifo), "resolved as a file, then refused by the reader")

        let model = try Self.directory()
        #expect(mkfifo(model + "/config.json", 0o600) == 0)
        #expect(formatError { _ = try HuggingFaceConfig.load(directory: model) } == "'\(model)/config.json' is a FIFO, not a regular file")
        #expect(mkfifo(model + "/model.safetensors", 0o600) == 0)
        #expect(formatError { _ = try SafetensorsCheckpoint(directory: model) } == "'\(model)/model.safetensors' is a FIFO, not a regular file")
        #expect(mkfifo(model + "/generation_config.json", 0o600) == 0)
        #expect(formatError { _ = try GenerationConfig.load(directory: model) } == "'\(model)/generation_config.json' is a FIFO, not a regular file")

        let nested = try Self.directory()
        try FileManager.default.createDirectory(atPath: nested + "/model.safetensors", withIntermediateDirectories: true)
        try Self.writeIndex(nested, "model.safetensors")
        #expect(formatError { _ = try SafetensorsCheckpoint(directory: nested) } == "'\(nested)/model.safetensors' is a directory, not a regular file")
    }

    /// Foundation's text for invalid JSON quotes the character where parsing stopped: not repeated.
    @Test func aConfigThatIsNotJSONIsNotQuoted() throws {
        let model = try Self.directory()
        try Data("root:x:0:0".utf8).write(to: URL(fileURLWithPath: model + "/config.json"))
        #expect(formatError { _ = try HuggingFaceConfig.load(directory: model) } == "'\(model)/config.json' is not a valid model config: it is not valid JSON")
        try Data(#"{"model_type":"llama","hidden_size":"wide"}"#.utf8).write(to: URL(fileURLWithPath: model + "/config.json"))
        #expect(formatError { _ = try HuggingFaceConfig.load(directory: model) } == "'\(model)/config.json' is not a valid model config: 'hidden_size' must be Int")
    }
}

extension HostileFileTests {
    /// A metadata array claiming 2^30 elements in a file of a few bytes: its reservation aborted on allocation.
    @Test func anArrayCountTheFileCannotHoldIsRefusedBeforeReserving() throws {
        var b = GGUFBuilder()
        b.bytes += Array("GGUF".utf8)
        b.u32(3); b.u64(0); b.u64(1)
        b.string("tokenizer.ggml.scores"); b.u32(9); b.u32(6); b.u64(1 << 30)
        b.bytes += [0, 0, 0, 0]
        let path = try temporaryFile(b.bytes)
        let message = formatError { _ = try GGUFFile(path: path) }
        #expect(message == "'\(path)' is truncated or corrupt: the value of 'tokenizer.ggml.scores' has 1073741824 elements, more than the 4 bytes left in the file")
    }
}

extension HostileFileTests {
    /// The Hugging Face cache's `refs/main`: a FIFO there blocked the model lookup; a ref climbing out of
    /// `snapshots/` is not followed.
    @Test func aHostileRefsMainIsNotFollowed() throws {
        let hub = try Self.directory()
        let repo = hub + "/models--org--tiny"
        try FileManager.default.createDirectory(atPath: repo + "/refs", withIntermediateDirectories: true)
        #expect(mkfifo(repo + "/refs/main", 0o600) == 0)
        #expect(formatError { _ = try ModelLocation.resolve("org/tiny", environment: ["HF_HUB_CACHE": hub]) } == "'\(repo)/refs/main' is a FIFO, not a regular file")
        try FileManager.default.removeItem(atPath: repo + "/refs/main")
        let outside = try Self.directory()
        try Data("{}".utf8).write(to: URL(fileURLWithPath: outside + "/config.json"))
        try Data("../../../../..\(outside)".utf8).write(to: URL(fileURLWithPath: repo + "/refs/main"))
        let message = formatError { _ = try ModelLocation.resolve("org/tiny", environment: ["HF_HUB_CACHE": hub]) }
        #expect(message?.contains("neither a path nor in the local Hugging Face cache") == true, "\(message ?? "followed the ref")")
    }
}
