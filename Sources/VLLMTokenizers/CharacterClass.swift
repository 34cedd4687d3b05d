/// A set of Unicode scalars as regular expressions write them: ranges, `\p{..}` general categories,
/// `\s`, `\d`, `\w`, optionally negated. ASCII membership is precomputed into a bitmap.
struct CharacterClass: Sendable {
    enum Item: Sendable {
        case range(UInt32, UInt32)
        case category(String, negated: Bool)
        case whitespace(negated: Bool)
        case digit(negated: Bool)
        case word(negated: Bool)
        case nested(CharacterClass)
    }

    var items: [Item]
    var negated: Bool
    private var ascii: (UInt64, UInt64) = (0, 0)

    init(items: [Item], negated: Bool) {
        self.items = items
        self.negated = negated
        var low: UInt64 = 0, high: UInt64 = 0
        for value in 0..<128 where slowContains(UInt32(value)) {
            if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
        }
        ascii = (low, high)
    }

    @inline(__always)
    func contains(_ value: UInt32) -> Bool {
        if value < 64 { return ascii.0 & (1 << UInt64(value)) != 0 }
        if value < 128 { return ascii.1 & (1 << UInt64(value - 64)) != 0 }
        return slowContains(value)
    }

    private func slowContains(_ value: UInt32) -> Bool {
        var found = false
        for item in items {
            if Self.matches(item, value) { found = true; break }
        }
        return found != negated
    }

    private static func matches(_ item: Item, _ value: UInt32) -> Bool {
        switch item {
        case let .range(lo, hi): return value >= lo && value <= hi
        case let .category(name, negated): return UnicodeCategories.scalar(value, isIn: name) != negated
        case let .whitespace(negated): return UnicodeCategories.isWhitespace(value) != negated
        case let .digit(negated): return UnicodeCategories.scalar(value, isIn: "Nd") != negated
        case let .word(negated):
            let isWord = value == 95 || UnicodeCategories.scalar(value, isIn: "L") || UnicodeCategories.scalar(value, isIn: "N")
                || UnicodeCategories.scalar(value, isIn: "M")
            return isWord != negated
        case let .nested(inner): return inner.contains(value)
        }
    }
}

/// Unicode general categories and whitespace, from the Swift runtime's Unicode tables.
enum UnicodeCategories {
    static func isWhitespace(_ value: UInt32) -> Bool {
        if value < 128 { return value == 32 || (value >= 9 && value <= 13) }
        guard let scalar = Unicode.Scalar(value) else { return false }
        return scalar.properties.isWhitespace
    }

    /// Whether the scalar's general category is `name`: a major class ("L", "N", "P", "M", "S", "Z", "C") or a
    /// two-letter category ("Lu", "Nd", ...). Letter aliases `Letter`, `Number`, ... are accepted.
    static func scalar(_ value: UInt32, isIn name: String) -> Bool {
        guard let scalar = Unicode.Scalar(value) else { return false }
        let code = code(of: scalar.properties.generalCategory)
        switch name {
        case "L", "Letter": return code.first == "L"
        case "N", "Number": return code.first == "N"
        case "P", "Punctuation": return code.first == "P"
        case "M", "Mark": return code.first == "M"
        case "S", "Symbol": return code.first == "S"
        case "Z", "Separator": return code.first == "Z"
        case "C", "Other": return code.first == "C"
        default: return code == name
        }
    }

    static func code(of category: Unicode.GeneralCategory) -> String {
        switch category {
        case .uppercaseLetter: "Lu"
        case .lowercaseLetter: "Ll"
        case .titlecaseLetter: "Lt"
        case .modifierLetter: "Lm"
        case .otherLetter: "Lo"
        case .nonspacingMark: "Mn"
        case .spacingMark: "Mc"
        case .enclosingMark: "Me"
        case .decimalNumber: "Nd"
        case .letterNumber: "Nl"
        case .otherNumber: "No"
        case .connectorPunctuation: "Pc"
        case .dashPunctuation: "Pd"
        case .openPunctuation: "Ps"
        case .closePunctuation: "Pe"
        case .initialPunctuation: "Pi"
        case .finalPunctuation: "Pf"
        case .otherPunctuation: "Po"
        case .mathSymbol: "Sm"
        case .currencySymbol: "Sc"
        case .modifierSymbol: "Sk"
        case .otherSymbol: "So"
        case .spaceSeparator: "Zs"
        case .lineSeparator: "Zl"
        case .paragraphSeparator: "Zp"
        case .control: "Cc"
        case .format: "Cf"
        case .surrogate: "Cs"
        case .privateUse: "Co"
        case .unassigned: "Cn"
        @unknown default: "Cn"
        }
    }
}
