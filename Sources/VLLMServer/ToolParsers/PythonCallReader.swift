import Foundation
import VLLMJSON

/// Reads Python call syntax with literal arguments, `[f(a=1, b="x"), g()]`, the subset vLLM's `pythonic` parser
/// accepts from `ast.parse`: keyword arguments whose values are constants (strings, numbers, True/False/None),
/// lists and dicts with constant keys. Positional arguments are read and dropped, as vLLM drops them.
struct PythonCallReader {
    struct Failure: Error {}

    let bytes: [UInt8]
    var index: Int

    init(_ bytes: [UInt8], at index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    /// `[call, ...]` followed only by whitespace.
    static func callList(_ text: [UInt8]) throws(Failure) -> [ParsedToolCall] {
        var reader = PythonCallReader(text)
        try reader.expect("[")
        var calls: [ParsedToolCall] = []
        reader.skipSpaces()
        while reader.peek() != UInt8(ascii: "]") {
            calls.append(try reader.call())
            reader.skipSpaces()
            if reader.peek() == UInt8(ascii: ",") { reader.index += 1; reader.skipSpaces() } else { break }
        }
        try reader.expect("]")
        reader.skipSpaces()
        guard reader.index == text.count else { throw Failure() }
        return calls
    }

    /// `name(key=value, ...)`: the name and the keyword arguments as `json.dumps` writes them.
    mutating func call() throws(Failure) -> ParsedToolCall {
        let name = try identifier()
        try expect("(")
        var arguments = JSONObject()
        skipSpaces()
        while peek() != UInt8(ascii: ")") {
            let save = index
            if let key = try? identifier(), skipSpacesThen("=") {
                arguments[key] = try literal()
            } else {
                index = save
                _ = try literal()
            }
            skipSpaces()
            if peek() == UInt8(ascii: ",") { index += 1; skipSpaces() } else { break }
        }
        try expect(")")
        return ParsedToolCall(name: name, arguments: JSONValue.object(arguments).serialized())
    }

    mutating func literal() throws(Failure) -> JSONValue {
        skipSpaces()
        guard let c = peek() else { throw Failure() }
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try string())
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONValue] = []
            skipSpaces()
            while peek() != UInt8(ascii: "]") {
                items.append(try literal())
                skipSpaces()
                if peek() == UInt8(ascii: ",") { index += 1; skipSpaces() } else { break }
            }
            try expect("]")
            return .array(items)
        case UInt8(ascii: "{"):
            index += 1
            var members = JSONObject()
            skipSpaces()
            while peek() != UInt8(ascii: "}") {
                let key = try literal()
                guard skipSpacesThen(":") else { throw Failure() }
                let value = try literal()
                switch key {
                case .string(let s): members[s] = value
                case .number, .bool, .null: members[key.serialized()] = value
                default: throw Failure()
                }
                skipSpaces()
                if peek() == UInt8(ascii: ",") { index += 1; skipSpaces() } else { break }
            }
            try expect("}")
            return .object(members)
        default:
            let word = try identifierOrNumber()
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .null
            default:
                guard let n = Double(word.replacingOccurrences(of: "_", with: "")), n.isFinite else { throw Failure() }
                return .number(n)
            }
        }
    }

    /// A quoted string with Python's common escapes.
    mutating func string() throws(Failure) -> String {
        let quote = bytes[index]
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let c = bytes[index]
            index += 1
            if c == quote { return String(decoding: out, as: UTF8.self) }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard index < bytes.count else { throw Failure() }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "0"): out.append(0)
            case UInt8(ascii: "x"), UInt8(ascii: "u"):
                let width = e == UInt8(ascii: "x") ? 2 : 4
                guard index + width <= bytes.count, let v = UInt32(String(decoding: bytes[index..<(index + width)], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(v) else { throw Failure() }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
                index += width
            case UInt8(ascii: "\n"): break
            default: out.append(e)
            }
        }
        throw Failure()
    }

    mutating func identifier() throws(Failure) -> String {
        skipSpaces()
        let start = index
        while let c = peek(), c == UInt8(ascii: "_") || isLetter(c) || (index > start && isDigit(c)) { index += 1 }
        guard index > start else { throw Failure() }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func identifierOrNumber() throws(Failure) -> String {
        let start = index
        while let c = peek(), isLetter(c) || isDigit(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
            || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") { index += 1 }
        guard index > start else { throw Failure() }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipSpaces() { index = TextScan.skipSpaces(bytes, index) }

    mutating func skipSpacesThen(_ c: Character) -> Bool {
        skipSpaces()
        guard peek() == c.asciiValue else { return false }
        index += 1
        return true
    }

    mutating func expect(_ c: Character) throws(Failure) {
        guard skipSpacesThen(c) else { throw Failure() }
    }

    func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
    func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}
