/// Where one tensor lives in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions in ggml order: `shape[0]` is the contiguous row length.
    public let shape: [Int]
    public let type: TensorType
    /// Byte offset from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A GGUF (v2/v3) file: typed metadata, tensor infos and the memory-mapped data they point into.
public final class GGUFFile: Sendable {
    public let file: MappedFile
    public let version: UInt32
    /// Metadata key/value pairs.
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    private let index: [String: Int]

    /// Reads and validates the header, metadata and tensor infos of the GGUF file at `path`.
    public convenience init(path: String) throws(ModelFormatError) {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws(ModelFormatError) {
        self.file = file
        let name = file.path
        var reader = ByteReader(file.bytes, fileName: name)
        try reader.need(4, "the GGUF magic")
        let magic = try reader.read(UInt32.self, "the GGUF magic")
        guard magic == 0x4655_4747 else {
            throw ModelFormatError("'\(name)' is not a GGUF file (its first bytes are not \"GGUF\")")
        }
        version = try reader.read(UInt32.self, "the GGUF version")
        guard version == 2 || version == 3 else {
            throw ModelFormatError("'\(name)' has GGUF version \(version); versions 2 and 3 are supported")
        }
        let tensorCount = try reader.read(UInt64.self, "the tensor count")
        let kvCount = try reader.read(UInt64.self, "the metadata count")
        guard tensorCount < 1 << 24, kvCount < 1 << 24 else {
            throw ModelFormatError("'\(name)' is corrupt: \(tensorCount) tensors and \(kvCount) metadata entries")
        }
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<kvCount {
            let key = try reader.readString("a metadata key")
            let type = try reader.read(UInt32.self, "the type of '\(key)'")
            guard !key.isEmpty, metadata[key] == nil else {
                throw ModelFormatError("'\(name)' is corrupt: empty or duplicate metadata key '\(key)'")
            }
            metadata[key] = try Self.readValue(&reader, type: type, key: key)
        }
        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard case .uint32(let a) = value, a > 0, a & (a - 1) == 0 else {
                throw ModelFormatError("'\(name)' is corrupt: general.alignment must be a power-of-two u32")
            }
            alignment = Int(a)
        }
        var raw: [(String, [Int], TensorType, Int)] = []
        for _ in 0..<tensorCount {
            let tensorName = try reader.readString("a tensor name")
            let dims = try reader.read(UInt32.self, "the rank of '\(tensorName)'")
            guard dims >= 1, dims <= 4 else {
                throw ModelFormatError("'\(name)' is corrupt: tensor '\(tensorName)' has \(dims) dimensions")
            }
            var shape: [Int] = []
            for _ in 0..<dims {
                let d = try reader.read(UInt64.self, "a dimension of '\(tensorName)'")
                guard d < 1 << 40 else { throw ModelFormatError("'\(name)' is corrupt: tensor '\(tensorName)' has dimension \(d)") }
                shape.append(Int(d))
            }
            let typeID = try reader.read(UInt32.self, "the type of '\(tensorName)'")
            guard let type = Int32(exactly: typeID).flatMap(TensorType.init(rawValue:)) else {
                throw ModelFormatError("'\(name)' is corrupt or newer than this engine: tensor '\(tensorName)' has \(TensorType.name(ofID: typeID)), which ggml does not define")
            }
            guard shape[0] % type.blockSize == 0 else {
                throw ModelFormatError("'\(name)' is corrupt: tensor '\(tensorName)' has row length \(shape[0]), not a multiple of \(type.name)'s block of \(type.blockSize)")
            }
            let offset = try reader.read(UInt64.self, "the offset of '\(tensorName)'")
            guard offset < 1 << 48 else { throw ModelFormatError("'\(name)' is corrupt: tensor '\(tensorName)' offset \(offset)") }
            // ggml (gguf.cpp) refuses these too: a misaligned tensor is a corrupt file, and its data would be read skewed.
            guard offset % UInt64(alignment) == 0 else {
                throw ModelFormatError("'\(name)' is corrupt: tensor '\(tensorName)' has offset \(offset), not a multiple of the file's alignment (\(alignment))")
            }
            raw.append((tensorName, shape, type, Int(offset)))
        }
        let dataStart = (reader.offset + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for (tensorName, shape, type, offset) in raw {
            // Four dimensions below 2^40 each can overflow a product: any size past the file's end is refused as such.
            let bytes = shape.dropFirst().reduce(Optional(type.rowBytes(shape[0]))) { total, d in
                total.flatMap { t in
                    let (product, overflow) = t.multipliedReportingOverflow(by: d)
                    return overflow ? nil : product
                }
            }
            let start = dataStart + offset
            guard let bytes, bytes <= file.bytes.count - start else {
                throw ModelFormatError("'\(name)' is truncated: tensor '\(tensorName)' (\(type.name) \(shape)) needs \(bytes.map { "\($0) bytes from byte \(start)" } ?? "more bytes than any file holds") but the file has \(file.bytes.count)")
            }
            guard index[tensorName] == nil else {
                throw ModelFormatError("'\(name)' is corrupt: tensor '\(tensorName)' appears twice")
            }
            index[tensorName] = tensors.count
            tensors.append(GGUFTensorInfo(name: tensorName, shape: shape, type: type, fileOffset: start, byteCount: bytes))
        }
        self.metadata = metadata
        self.tensors = tensors
        self.index = index
    }

    /// The tensor named `name`, if present.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        index[name].map { tensors[$0] }
    }

    /// The bytes of a tensor, in place in the memory map.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.fileOffset..<(tensor.fileOffset + tensor.byteCount)])
    }

    private static func readValue(_ reader: inout ByteReader, type: UInt32, key: String, depth: Int = 0) throws(ModelFormatError) -> GGUFValue {
        let what = "the value of '\(key)'"
        switch type {
        case 0: return .uint8(try reader.read(UInt8.self, what))
        case 1: return .int8(try reader.read(Int8.self, what))
        case 2: return .uint16(try reader.read(UInt16.self, what))
        case 3: return .int16(try reader.read(Int16.self, what))
        case 4: return .uint32(try reader.read(UInt32.self, what))
        case 5: return .int32(try reader.read(Int32.self, what))
        case 6: return .float32(try reader.readFloat(what))
        case 7: return .bool(try reader.read(UInt8.self, what) != 0)
        case 8: return .string(try reader.readString(what))
        case 9:
            let elementType = try reader.read(UInt32.self, what)
            let count = try reader.read(UInt64.self, what)
            guard depth == 0, elementType != 9, count <= 1 << 30 else {
                throw ModelFormatError("'\(reader.fileName)' is corrupt: \(what) is a nested or oversized array")
            }
            // Every element takes at least a byte: a count the rest of the file cannot hold is refused before the
            // array is reserved (2^30 elements reserved 25 GB and aborted, whatever the file's size).
            guard count <= UInt64(reader.bytes.count - reader.offset) else {
                throw ModelFormatError("'\(reader.fileName)' is truncated or corrupt: \(what) has \(count) elements, more than the \(reader.bytes.count - reader.offset) bytes left in the file")
            }
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(count))
            for _ in 0..<count {
                values.append(try readValue(&reader, type: elementType, key: key, depth: depth + 1))
            }
            return .array(values)
        case 10: return .uint64(try reader.read(UInt64.self, what))
        case 11: return .int64(try reader.read(Int64.self, what))
        case 12: return .float64(try reader.readDouble(what))
        default:
            throw ModelFormatError("'\(reader.fileName)' is corrupt: metadata '\(key)' has unknown value type \(type)")
        }
    }
}
