import Foundation

/// A strict JSON (RFC 8259) parser for request bodies and schemas, with Python's semantics where clients can tell the difference:
/// a key given twice keeps its last value (`json.loads`, and so vLLM, do; Foundation's decoder kept the first), and
/// object members keep the document's order (a JSON schema's `properties` order is the order of the output).
/// Nesting is bounded so that a hostile body cannot exhaust the stack; numbers must be finite; strings must be UTF-8.
public struct JSONParser {
    /// Deeper nesting is refused (Python's default recursion limit stops `json.loads` near 1000).
    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// The value of `data`, which must hold exactly one JSON value (whitespace around it allowed).
    public static func parse(_ data: Data) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = data.withUnsafeBytes { raw in
            var parser = JSONParser(raw.bindMemory(to: UInt8.self))
            return Result { () throws(JSONParseError) in try parser.document() }
        }
        return try result.get()
    }

    /// The JSON value at the start of `data` and the number of bytes it spans, ignoring whatever follows, as
    /// Python's `JSONDecoder.raw_decode` reads one value out of model output (tool calls followed by more text).
    public static func parsePrefix(_ data: Data) throws(JSONParseError) -> (value: JSONValue, length: Int) {
        let result: Result<(JSONValue, Int), JSONParseError> = data.withUnsafeBytes { raw in
            var parser = JSONParser(raw.bindMemory(to: UInt8.self))
            return Result { () throws(JSONParseError) in (try parser.value(), parser.index) }
        }
        let (value, length) = try result.get()
        return (value, length)
    }

    private mutating func document() throws(JSONParseError) -> JSONValue {
        let value = try self.value()
        skipWhitespace()
        if index < bytes.count { throw fail("extra data after the JSON value") }
        return value
    }

    private mutating func value() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw fail("expecting a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try nested { (p: inout JSONParser) throws(JSONParseError) in try p.object() }
        case UInt8(ascii: "["): return try nested { (p: inout JSONParser) throws(JSONParseError) in try p.array() }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("expecting a value")
        }
    }

    private mutating func nested(_ body: (inout JSONParser) throws(JSONParseError) -> JSONValue) throws(JSONParseError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth { throw fail("nested more than \(Self.maxDepth) levels deep") }
        return try body(&self)
    }

    private mutating func object() throws(JSONParseError) -> JSONValue {
        index += 1  // {
        var members = JSONObject()
        skipWhitespace()
        if peek(UInt8(ascii: "}")) { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw fail("expecting a property name in double quotes") }
            let key = try string()
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw fail("expecting ':' delimiter") }
            index += 1
            let member = try value()
            members[key] = member  // a repeated key keeps its last value at its first position, as in Python
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "}")) { index += 1; return .object(members) }
            throw fail("expecting ',' delimiter")
        }
    }

    private mutating func array() throws(JSONParseError) -> JSONValue {
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) { index += 1; return .array(elements) }
        while true {
            elements.append(try value())
            skipWhitespace()
            if peek(UInt8(ascii: ",")) { index += 1; continue }
            if peek(UInt8(ascii: "]")) { index += 1; return .array(elements) }
            throw fail("expecting ',' delimiter")
        }
    }

    /// A string starting at the opening quote; escapes decoded, the bytes checked as UTF-8.
    private mutating func string() throws(JSONParseError) -> String {
        let start = index
        index += 1
        var scratch: [UInt8] = []
        var runStart = index
        while true {
            guard index < bytes.count else { throw fail("unterminated string starting", at: start) }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw fail("invalid control character in string") }
            if byte != UInt8(ascii: "\\") { index += 1; continue }
            scratch.append(contentsOf: bytes[runStart..<index])
            index += 1
            guard index < bytes.count else { throw fail("unterminated string starting", at: start) }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escape)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"): scratch.append(contentsOf: try unicodeEscape())
            default: throw fail("invalid \\escape", at: index - 2)
            }
            runStart = index
        }
        let text: String?
        if scratch.isEmpty && runStart == start + 1 {
            text = String(validating: UnsafeBufferPointer(rebasing: bytes[runStart..<index]), as: UTF8.self)
        } else {
            scratch.append(contentsOf: bytes[runStart..<index])
            text = String(validating: scratch, as: UTF8.self)
        }
        index += 1  // closing quote
        guard let text else { throw fail("invalid UTF-8 in string", at: start) }
        return text
    }

    /// The UTF-8 bytes of a `\uXXXX` escape (after the `u`), joining a surrogate pair; a lone surrogate becomes
    /// U+FFFD (Python keeps it, but a Swift string cannot hold one).
    private mutating func unicodeEscape() throws(JSONParseError) -> [UInt8] {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar), index + 1 < bytes.count,
           bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
            let save = index
            index += 2
            let low = try hex4()
            if (0xDC00..<0xE000).contains(low) {
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else {
                index = save
            }
        }
        let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        return Array(String(Character(character)).utf8)
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("invalid \\uXXXX escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid \\uXXXX escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, which must be finite as a Double.
    private mutating func number() throws(JSONParseError) -> Double {
        let start = index
        if peek(UInt8(ascii: "-")) { index += 1 }
        if peek(UInt8(ascii: "0")) {
            index += 1
        } else if digits() == 0 {
            throw fail("expecting a value", at: start)
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            if digits() == 0 { throw fail("expecting digits after '.'") }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            if digits() == 0 { throw fail("expecting digits in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let number = Double(text), number.isFinite else { throw fail("number out of range", at: start) }
        return number
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard index + expected.count <= bytes.count, bytes[index..<index + expected.count].elementsEqual(expected) else {
            throw fail("expecting a value")
        }
        index += expected.count
    }

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func fail(_ message: String, at position: Int? = nil) -> JSONParseError {
        JSONParseError(message: message, offset: position ?? index)
    }
}

/// Why a body is not JSON, with the byte offset, in the spirit of Python's `JSONDecodeError` ("Expecting value: char 0").
public struct JSONParseError: Error, CustomStringConvertible {
    public let message: String
    public let offset: Int

    public var description: String { "\(message) (at byte \(offset))" }
}
