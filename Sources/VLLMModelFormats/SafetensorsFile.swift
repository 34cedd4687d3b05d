import Foundation

/// Where one tensor lives in a safetensors file.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    /// Shape in PyTorch order: the last dimension is contiguous.
    public let shape: [Int]
    public let type: TensorType
    public let fileOffset: Int
    public let byteCount: Int
}

/// A `.safetensors` file: an 8-byte header length, a JSON header, then raw little-endian tensor data.
public final class SafetensorsFile: Sendable {
    public let file: MappedFile
    public let tensors: [String: SafetensorsTensorInfo]

    public convenience init(path: String) throws(ModelFormatError) {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws(ModelFormatError) {
        self.file = file
        let name = file.path
        var reader = ByteReader(file.bytes, fileName: name)
        let headerLength = try reader.read(UInt64.self, "the safetensors header length")
        // The length is the file's first 8 bytes: not printed, since the file may be anything at all.
        guard headerLength <= 100_000_000, Int(headerLength) <= file.bytes.count - 8 else {
            throw ModelFormatError("'\(name)' is not a safetensors file or is truncated (its header length runs past the end of its \(file.bytes.count) bytes)")
        }
        let headerBytes = Data(UnsafeRawBufferPointer(rebasing: file.bytes[8..<(8 + Int(headerLength))]))
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw ModelFormatError("'\(name)' has a corrupt safetensors header (not a JSON object)")
        }
        let dataStart = 8 + Int(headerLength)
        var tensors: [String: SafetensorsTensorInfo] = [:]
        for (key, value) in header where key != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = Self.integers(entry["shape"]), shape.count <= 8,
                  let offsets = Self.integers(entry["data_offsets"]), offsets.count == 2
            else {
                throw ModelFormatError("'\(name)' has a malformed entry for tensor '\(key)' (dtype, shape and data_offsets must be a string and lists of non-negative integers)")
            }
            let type: TensorType
            switch dtype {
            case "F32": type = .f32
            case "F16": type = .f16
            case "BF16": type = .bf16
            // Integer tensors hold quantized checkpoints' packed weights, zero points and group indices, and BERT's
            // `embeddings.position_ids` (I64), which the model loader skips.
            case "I8": type = .i8
            case "I16": type = .i16
            case "I32": type = .i32
            case "I64": type = .i64
            default:
                throw ModelFormatError("tensor '\(key)' in '\(name)' has dtype \(dtype); supported: F32, F16, BF16, I8, I16, I32, I64")
            }
            // Checked arithmetic throughout: a shape such as [2^32, 2^32] overflows a 64-bit element count.
            let bytes = shape.reduce(Optional(type.blockBytes)) { total, d in
                total.flatMap { t in
                    let (product, overflow) = t.multipliedReportingOverflow(by: d)
                    return overflow ? nil : product
                }
            }
            let available = file.bytes.count - dataStart
            guard let bytes, offsets[0] <= offsets[1], offsets[1] <= available, offsets[1] - offsets[0] == bytes else {
                throw ModelFormatError("'\(name)' is truncated or corrupt: tensor '\(key)' (\(dtype) \(shape)) needs \(bytes.map { "\($0) bytes" } ?? "more bytes than any file holds") but its data offsets \(offsets) span \(offsets[1] - offsets[0]) of the \(available) after the header")
            }
            let begin = dataStart + offsets[0], end = dataStart + offsets[1]
            tensors[key] = SafetensorsTensorInfo(name: key, shape: shape, type: type, fileOffset: begin, byteCount: end - begin)
        }
        self.tensors = tensors
    }

    /// A JSON list of non-negative integers (exactly: 1.5 and 2^64 are refused), or nil.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var out: [Int] = []
        for element in list {
            // NSNumber bridges to Int only when exact.
            guard let exact = element as? Int, exact >= 0 else { return nil }
            out.append(exact)
        }
        return out
    }

    /// The bytes of a tensor, in place in the memory map.
    public func data(of tensor: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
    }
}
