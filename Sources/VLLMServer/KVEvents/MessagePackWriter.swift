/// A MessagePack writer for the values KV events carry (vLLM encodes its events with msgspec's msgpack): nil,
/// booleans, integers in their smallest form, float64, UTF-8 strings and array headers.
struct MessagePackWriter {
    private(set) var bytes: [UInt8] = []

    mutating func writeNil() { bytes.append(0xC0) }

    mutating func write(_ value: Bool) { bytes.append(value ? 0xC3 : 0xC2) }

    mutating func write(_ value: UInt64) {
        switch value {
        case 0..<0x80: bytes.append(UInt8(value))
        case 0..<0x100: bytes.append(0xCC); bytes.append(UInt8(value))
        case 0..<0x1_0000: bytes.append(0xCD); appendBigEndian(UInt16(value))
        case 0..<0x1_0000_0000: bytes.append(0xCE); appendBigEndian(UInt32(value))
        default: bytes.append(0xCF); appendBigEndian(value)
        }
    }

    mutating func write(_ value: Int64) {
        if value >= 0 { write(UInt64(value)); return }
        switch value {
        case -32..<0: bytes.append(UInt8(bitPattern: Int8(value)))
        case Int64(Int8.min)..<0: bytes.append(0xD0); bytes.append(UInt8(bitPattern: Int8(value)))
        case Int64(Int16.min)..<0: bytes.append(0xD1); appendBigEndian(UInt16(bitPattern: Int16(value)))
        case Int64(Int32.min)..<0: bytes.append(0xD2); appendBigEndian(UInt32(bitPattern: Int32(value)))
        default: bytes.append(0xD3); appendBigEndian(UInt64(bitPattern: value))
        }
    }

    mutating func write(_ value: Double) {
        bytes.append(0xCB)
        appendBigEndian(value.bitPattern)
    }

    mutating func write(_ value: String) {
        let utf8 = Array(value.utf8)
        switch utf8.count {
        case 0..<32: bytes.append(0xA0 | UInt8(utf8.count))
        case 0..<0x100: bytes.append(0xD9); bytes.append(UInt8(utf8.count))
        case 0..<0x1_0000: bytes.append(0xDA); appendBigEndian(UInt16(utf8.count))
        default: bytes.append(0xDB); appendBigEndian(UInt32(utf8.count))
        }
        bytes += utf8
    }

    mutating func writeArrayHeader(_ count: Int) {
        switch count {
        case 0..<16: bytes.append(0x90 | UInt8(count))
        case 0..<0x1_0000: bytes.append(0xDC); appendBigEndian(UInt16(count))
        default: bytes.append(0xDD); appendBigEndian(UInt32(count))
        }
    }

    mutating func writeMapHeader(_ count: Int) {
        switch count {
        case 0..<16: bytes.append(0x80 | UInt8(count))
        case 0..<0x1_0000: bytes.append(0xDE); appendBigEndian(UInt16(count))
        default: bytes.append(0xDF); appendBigEndian(UInt32(count))
        }
    }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
    }
}
