#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// String operations of filters and methods, with their work and sizes counted against the budget.
extension TemplateRenderer {
    /// The first occurrence of `needle` in `haystack` (by `Character`, as Swift compares strings).
    func find(_ needle: String, in haystack: Substring) throws -> Range<String.Index>? {
        guard !needle.isEmpty else { return nil }
        let first = needle.first!, length = needle.count
        var i = haystack.startIndex
        while i < haystack.endIndex {
            try budget.spend()
            if haystack[i] == first {
                try budget.spend(length)  // what hasPrefix may compare
                if haystack[i...].hasPrefix(needle) { return i..<haystack.index(i, offsetBy: length) }
            }
            i = haystack.index(after: i)
        }
        return nil
    }

    /// Python's `str.replace(old, new, count)`.
    func replace(_ s: String, _ old: String, _ new: String, count: Int) throws -> String {
        if old.isEmpty { return s }
        var out = "", rest = Substring(s), done = 0
        while count < 0 || done < count, let r = try find(old, in: rest) {
            out += rest[..<r.lowerBound]
            out += new
            try budget.checkLength(out)
            rest = rest[r.upperBound...]
            done += 1
        }
        try budget.allocateString(out.utf8.count + rest.utf8.count)
        return out + rest
    }

    /// Python's `str.split(sep, maxsplit)` with a separator.
    func split(_ s: String, by separator: String, maxSplit: Int) throws -> [TemplateValue] {
        var parts: [TemplateValue] = []
        var rest = Substring(s)
        while maxSplit < 0 || parts.count < maxSplit, let r = try find(separator, in: rest) {
            parts.append(.string(String(rest[..<r.lowerBound])))
            rest = rest[r.upperBound...]
        }
        parts.append(.string(String(rest)))
        try budget.allocateList(parts.count)
        return parts
    }

    /// Python's `items.join(separator)` as `str.join` and the `join` filter do it.
    func join(_ items: [TemplateValue], separator: String) throws -> String {
        var out = ""
        for (i, item) in items.enumerated() {
            if i > 0 { out += separator }
            out += try str(item)
            try budget.checkLength(out)
        }
        try budget.allocateString(out.utf8.count)
        return out
    }

    func strip(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
        let isStripped: (Character) -> Bool = { c in chars.map { $0.contains(c) } ?? (c.isWhitespace) }
        var sub = Substring(s)
        if left { sub = sub.drop(while: isStripped) }
        if right { while let last = sub.last, isStripped(last) { sub = sub.dropLast() } }
        return String(sub)
    }

    func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return String(first).uppercased() + s.dropFirst().lowercased()
    }

    func titleCase(_ s: String) -> String {
        var out = ""
        var startOfWord = true
        for c in s {
            out += startOfWord ? String(c).uppercased() : String(c).lowercased()
            startOfWord = c.isWhitespace || "-([{<".contains(c)
        }
        return out
    }

    /// Python's `str % args` for the common conversions (%s %d %i %f %r %%).
    func percentFormat(_ format: String, _ args: TemplateValue) throws -> String {
        var values: [TemplateValue]
        if case let .array(a) = args { values = a } else { values = [args] }
        var next = 0
        var out = ""
        var chars = Array(format)[...]
        while let c = chars.popFirst() {
            guard c == "%" else { out.append(c); continue }
            var spec = ""
            while let d = chars.first, "0123456789.-+ ".contains(d) { spec.append(d); chars.removeFirst() }
            guard let conv = chars.popFirst() else { throw TemplateError("incomplete format") }
            if conv == "%" { out.append("%"); continue }
            guard next < values.count else { throw TemplateError("not enough arguments for format string") }
            let v = values[next]
            next += 1
            var piece: String
            let parts = spec.split(separator: ".", omittingEmptySubsequences: false)
            switch conv {
            case "s": piece = try str(v)
            case "r": piece = try repr(v)
            case "d", "i": piece = String(try integerValue(v.number ?? 0))
            case "f": piece = try formatFixed(v.number ?? 0, parts.count > 1 ? Int(parts[1]) ?? 6 : 6)
            default: piece = try str(v)
            }
            let flags = String(parts[0].prefix { "-0+ ".contains($0) })
            let width = Int(parts[0].dropFirst(flags.count)) ?? 0
            if piece.count < width {
                let pad = width - piece.count
                if flags.contains("-") { piece += try repeated(" ", pad) }
                else if flags.contains("0"), conv != "s" {
                    let negative = piece.hasPrefix("-")
                    piece = (negative ? "-" : "") + (try repeated("0", pad)) + piece.dropFirst(negative ? 1 : 0)
                } else { piece = try repeated(" ", pad) + piece }
            }
            out += piece
            try budget.checkLength(out)
        }
        return out
    }

    /// The integer part of `d` (Python's `int(float)`), or an error when it has none or it does not fit.
    func integerValue(_ d: Double) throws -> Int {
        if d.isNaN { throw TemplateError("cannot convert float NaN to integer") }
        if d.isInfinite { throw TemplateError.limit("cannot convert float infinity to integer") }
        guard let i = Int(exactly: d.rounded(.towardZero)) else { throw Self.overflow("int(\(TemplateValue.pythonFloat(d)))") }
        return i
    }

    /// `'%.<precision>f' % x`.
    func formatFixed(_ x: Double, _ precision: Int) throws -> String {
        guard x.isFinite else { return TemplateValue.pythonFloat(x) }
        guard precision >= 0 else { throw TemplateError("unsupported format: negative precision \(precision)") }
        guard precision <= 100 else { throw TemplateError.limit("format precision \(precision) is larger than the sandbox allows (100)") }
        let scale = pow(10.0, Double(precision))
        let rounded = (x * scale).rounded() / scale
        if precision == 0 { return String(try integerValue(rounded)) }
        var s = TemplateValue.pythonFloat(rounded)
        let parts = s.split(separator: ".")
        if parts.count == 2 {
            var frac = String(parts[1])
            while frac.count < precision { frac += "0" }
            s = parts[0] + "." + frac.prefix(precision)
        }
        return s
    }
}

extension String {
    func trimmingPythonWhitespace() -> String {
        var sub = Substring(self).drop(while: \.isWhitespace)
        while let last = sub.last, last.isWhitespace { sub = sub.dropLast() }
        return String(sub)
    }
}
