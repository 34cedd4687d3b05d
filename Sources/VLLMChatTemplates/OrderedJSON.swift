import Foundation
import OrderedCollections

/// A JSON parser that keeps object key order (as Python's `json` does, which `tojson` output depends on),
/// producing template values. Used for message and tool files and test fixtures.
public struct OrderedJSON {
    private let bytes: [UInt8]
    private var i = 0

    /// Parses one JSON document; throws `OrderedJSON.Malformed` with the byte offset of the problem.
    public static func parse(_ data: Data) throws -> TemplateValue {
        var parser = OrderedJSON(bytes: Array(data))
        let result = try parser.value()
        parser.skip()
        guard parser.i == parser.bytes.count else { throw Malformed(offset: parser.i) }
        return result
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    public struct Malformed: Error, CustomStringConvertible {
        public let offset: Int
        public var description: String { "malformed JSON at byte \(offset)" }
    }

    private mutating func skip() { while i < bytes.count, [32, 9, 10, 13].contains(bytes[i]) { i += 1 } }

    private func byte() throws -> UInt8 {
        guard i < bytes.count else { throw Malformed(offset: i) }
        return bytes[i]
    }

    private mutating func expect(_ text: String) throws {
        for b in text.utf8 {
            guard try byte() == b else { throw Malformed(offset: i) }
            i += 1
        }
    }

    private mutating func value() throws -> TemplateValue {
        skip()
        guard i < bytes.count else { throw Malformed(offset: i) }
        switch try byte() {
        case UInt8(ascii: "{"):
            i += 1
            var object = OrderedDictionary<String, TemplateValue>()
            skip()
            if try byte() == UInt8(ascii: "}") { i += 1; return .object(object) }
            while true {
                skip()
                guard case let .string(key) = try value() else { throw Malformed(offset: i) }
                skip(); try expect(":")
                object[key] = try value()
                skip()
                if try byte() == UInt8(ascii: ",") { i += 1; continue }
                try expect("}")
                return .object(object)
            }
        case UInt8(ascii: "["):
            i += 1
            var array: [TemplateValue] = []
            skip()
            if try byte() == UInt8(ascii: "]") { i += 1; return .array(array) }
            while true {
                array.append(try value())
                skip()
                if try byte() == UInt8(ascii: ",") { i += 1; continue }
                try expect("]")
                return .array(array)
            }
        case UInt8(ascii: "\""):
            let start = i
            i += 1
            while try byte() != UInt8(ascii: "\"") { i += try byte() == UInt8(ascii: "\\") ? 2 : 1 }
            i += 1
            guard let text = try? JSONDecoder().decode(String.self, from: Data(bytes[start..<i])) else { throw Malformed(offset: start) }
            return .string(text)
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .none
        default:
            let start = i
            while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if let n = Int(text) { return .int(n) }
            guard let d = Double(text) else { throw Malformed(offset: i) }
            return .double(d)
        }
    }
}

extension TemplateValue {
    /// The value of a key of an object (nil for other values or missing keys).
    public subscript(key: String) -> TemplateValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    public var objectValue: OrderedDictionary<String, TemplateValue>? { if case let .object(o) = self { o } else { nil } }
    public var arrayValue: [TemplateValue]? { if case let .array(a) = self { a } else { nil } }
    public var stringValue: String? { if case let .string(s) = self { s } else { nil } }
}
