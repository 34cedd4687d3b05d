/// Bounds-checked little-endian reads from a byte buffer; every read past the end is a clear error.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let fileName: String
    var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, fileName: String) {
        self.bytes = bytes
        self.fileName = fileName
    }

    mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws(ModelFormatError) {
        guard count >= 0, count <= bytes.count - offset else {
            throw ModelFormatError("'\(fileName)' is truncated or corrupt: \(what()) at byte \(offset) runs past the end of the file (\(bytes.count) bytes)")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(ModelFormatError) -> T {
        try need(MemoryLayout<T>.size, what())
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws(ModelFormatError) -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws(ModelFormatError) -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A GGUF string: u64 length, then that many UTF-8 bytes (no terminator).
    mutating func readString(_ what: @autoclosure () -> String) throws(ModelFormatError) -> String {
        let length = try read(UInt64.self, what())
        guard length <= 1 << 30 else {
            throw ModelFormatError("'\(fileName)' is corrupt: \(what()) has length \(length) at byte \(offset - 8)")
        }
        try need(Int(length), what())
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
        offset += Int(length)
        return String(decoding: slice, as: UTF8.self)
    }
}
