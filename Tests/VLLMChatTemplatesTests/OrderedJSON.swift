import Foundation
import OrderedCollections
import VLLMChatTemplates

/// A small JSON parser that keeps object key order (as Python's json does), producing template values.
struct OrderedJSON {
    private let bytes: [UInt8]
    private var i = 0

    static func parse(_ data: Data) throws -> TemplateValue {
        var parser = OrderedJSON(bytes: Array(data))
        return try parser.value()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    struct Malformed: Error {}

    private mutating func skip() { while i < bytes.count, [32, 9, 10, 13].contains(bytes[i]) { i += 1 } }

    private mutating func value() throws -> TemplateValue {
        skip()
        guard i < bytes.count else { throw Malformed() }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var object = OrderedDictionary<String, TemplateValue>()
            skip()
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(object) }
            while true {
                skip()
                guard case let .string(key) = try value() else { throw Malformed() }
                skip(); i += 1  // ':'
                object[key] = try value()
                skip()
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                i += 1
                return .object(object)
            }
        case UInt8(ascii: "["):
            i += 1
            var array: [TemplateValue] = []
            skip()
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(array) }
            while true {
                array.append(try value())
                skip()
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                i += 1
                return .array(array)
            }
        case UInt8(ascii: "\""):
            let start = i
            i += 1
            while bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
            i += 1
            let text = try JSONDecoder().decode(String.self, from: Data(bytes[start..<i]))
            return .string(text)
        case UInt8(ascii: "t"): i += 4; return .bool(true)
        case UInt8(ascii: "f"): i += 5; return .bool(false)
        case UInt8(ascii: "n"): i += 4; return .none
        default:
            let start = i
            while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if let n = Int(text) { return .int(n) }
            guard let d = Double(text) else { throw Malformed() }
            return .double(d)
        }
    }
}

extension TemplateValue {
    subscript(key: String) -> TemplateValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    var objectValue: OrderedDictionary<String, TemplateValue>? { if case let .object(o) = self { o } else { nil } }
    var arrayValue: [TemplateValue]? { if case let .array(a) = self { a } else { nil } }
    var stringValue: String? { if case let .string(s) = self { s } else { nil } }
}
