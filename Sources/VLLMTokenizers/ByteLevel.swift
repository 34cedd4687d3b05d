/// GPT-2's reversible byte ↔ printable-character mapping used by byte-level BPE vocabularies.
enum ByteLevel {
    /// The code point each byte maps to (space → U+0120 `Ġ`, LF → U+010A `Ċ`).
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte a mapped code point stands for, or nil when the code point is not in the table.
    static func byte(for scalar: UInt32) -> UInt8? {
        if scalar < 256 {
            let b = Int(scalar)
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) { return UInt8(b) }
            return nil
        }
        return scalarToByte[scalar]
    }

    private static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() where s >= 256 { map[s] = UInt8(b) }
        return map
    }()

    /// The byte-level text of raw bytes.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var view = String.UnicodeScalarView()
        for b in bytes { view.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(view)
    }

    /// The raw bytes of byte-level text; characters outside the table are kept as their UTF-8.
    static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            if let b = byte(for: scalar.value) { out.append(b) } else { out.append(contentsOf: Array(String(scalar).utf8)) }
        }
        return out
    }
}
