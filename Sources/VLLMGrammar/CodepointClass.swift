/// A set of Unicode code points written as a character class (`[a-z0-9_]`, `[^"\\]`), matched over UTF-8 bytes.
struct CodepointClass: Sendable, Hashable {
    /// Inclusive code point ranges, as written.
    var ranges: [ClosedRange<UInt32>]
    /// Whether the class matches every code point *not* in `ranges`.
    var negated: Bool

    init(_ ranges: [ClosedRange<UInt32>], negated: Bool = false) {
        self.ranges = ranges
        self.negated = negated
    }

    static let maxCodepoint: UInt32 = 0x10FFFF

    /// The matched code points as sorted, disjoint, non-adjacent ranges.
    var normalizedRanges: [ClosedRange<UInt32>] {
        var sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in sorted {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        sorted = merged
        guard negated else { return sorted }
        var complement: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in sorted {
            if r.lowerBound > next { complement.append(next...(r.lowerBound - 1)) }
            next = r.upperBound + 1
        }
        if next <= Self.maxCodepoint { complement.append(next...Self.maxCodepoint) }
        return complement
    }

    /// The class as UTF-8 byte sequences: each element is one byte range per position (1 to 4 positions).
    var utf8Sequences: [[ClosedRange<UInt8>]] {
        var out: [[ClosedRange<UInt8>]] = []
        for r in normalizedRanges { Self.split(r.lowerBound, r.upperBound, into: &out) }
        return out
    }

    /// Splits a code point range into ranges whose UTF-8 encodings differ only in byte ranges position by position.
    private static func split(_ lo: UInt32, _ hi: UInt32, into out: inout [[ClosedRange<UInt8>]]) {
        // Ranges must not cross an encoding-length boundary.
        for bound: UInt32 in [0x7F, 0x7FF, 0xFFFF] where lo <= bound && hi > bound {
            split(lo, bound, into: &out)
            split(bound + 1, hi, into: &out)
            return
        }
        if hi <= 0x7F {
            out.append([UInt8(lo)...UInt8(hi)])
            return
        }
        // Split where the continuation bytes are not full ranges: for each trailing 6-bit group.
        let length = hi <= 0x7FF ? 2 : hi <= 0xFFFF ? 3 : 4
        for i in 1..<length {
            let m: UInt32 = (1 << (6 * UInt32(i))) - 1
            if lo & ~m != hi & ~m {
                if lo & m != 0 {
                    split(lo, lo | m, into: &out)
                    split((lo | m) + 1, hi, into: &out)
                    return
                }
                if hi & m != m {
                    split(lo, (hi & ~m) - 1, into: &out)
                    split(hi & ~m, hi, into: &out)
                    return
                }
            }
        }
        let a = encode(lo, length: length), b = encode(hi, length: length)
        out.append((0..<length).map { a[$0]...b[$0] })
    }

    static func encode(_ c: UInt32, length: Int) -> [UInt8] {
        switch length {
        case 1: return [UInt8(c)]
        case 2: return [UInt8(0xC0 | (c >> 6)), UInt8(0x80 | (c & 0x3F))]
        case 3: return [UInt8(0xE0 | (c >> 12)), UInt8(0x80 | ((c >> 6) & 0x3F)), UInt8(0x80 | (c & 0x3F))]
        default:
            return [UInt8(0xF0 | (c >> 18)), UInt8(0x80 | ((c >> 12) & 0x3F)), UInt8(0x80 | ((c >> 6) & 0x3F)),
                    UInt8(0x80 | (c & 0x3F))]
        }
    }

    var ebnf: String {
        var s = negated ? "[^" : "["
        func esc(_ c: UInt32) -> String {
            switch c {
            case 0x5C: return "\\\\"
            case 0x5D: return "\\]"
            case 0x2D: return "\\-"
            case 0x0A: return "\\n"
            case 0x09: return "\\t"
            case 0x0D: return "\\r"
            case 0..<0x20: return "\\x" + String(c, radix: 16)
            default: return String(Unicode.Scalar(c).map(Character.init) ?? "?")
            }
        }
        for r in ranges { s += r.lowerBound == r.upperBound ? esc(r.lowerBound) : esc(r.lowerBound) + "-" + esc(r.upperBound) }
        return s + "]"
    }
}
