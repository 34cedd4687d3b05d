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
        guard headerLength <= 100_000_000, Int(headerLength) <= file.bytes.count - 8 else {
            throw ModelFormatError("'\(name)' is not a safetensors file or is truncated (header length \(headerLength), file size \(file.bytes.count))")
        }
        let headerBytes = Data(UnsafeRawBufferPointer(rebasing: file.bytes[8..<(8 + Int(headerLength))]))
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw ModelFormatError("'\(name)' has a corrupt safetensors header (not a JSON object)")
        }
        let dataStart = 8 + Int(headerLength)
        var tensors: [String: SafetensorsTensorInfo] = [:]
        for (key, value) in header where key != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offsets.count == 2
            else {
                throw ModelFormatError("'\(name)' has a malformed entry for tensor '\(key)'")
            }
            let type: TensorType
            switch dtype {
            case "F32": type = .f32
            case "F16": type = .f16
            case "BF16": type = .bf16
            default:
                throw ModelFormatError("tensor '\(key)' in '\(name)' has dtype \(dtype); supported: F32, F16, BF16")
            }
            let count = shape.reduce(1, *)
            let begin = dataStart + offsets[0], end = dataStart + offsets[1]
            guard offsets[0] >= 0, end - begin == count * type.blockBytes, end <= file.bytes.count else {
                throw ModelFormatError("'\(name)' is truncated or corrupt: tensor '\(key)' (\(dtype) \(shape)) does not fit its data offsets \(offsets)")
            }
            tensors[key] = SafetensorsTensorInfo(name: key, shape: shape, type: type, fileOffset: begin, byteCount: end - begin)
        }
        self.tensors = tensors
    }

    /// The bytes of a tensor, in place in the memory map.
    public func data(of tensor: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
    }
}
