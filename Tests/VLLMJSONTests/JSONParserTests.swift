import Foundation
import Testing
@testable import VLLMJSON

/// The request parser against Foundation's decoder on documents without repeated keys (where both must agree),
/// and on random documents built from every JSON construct.
struct JSONParserTests {
    static let documents = [
        #"{}"#, #"[]"#, #" {"a" : [1, -0, 2.5, -1.25e-3, 1E+2, 1e2, 0.5, 123456789012345, 9007199254740993]} "#,
        #"{"s": "\"\\\/\b\f\n\r\t\u0041\u00e9\u4e2d\ud83d\ude00", "t": true, "f": false, "n": null}"#,
        #"{"nested": {"deeper": [{"x": []}, [[["y"]]], {}]}, "": "empty key"}"#,
        #"[1,2,3,"a",{"b":null}]"#, #""just a string""#, #"42"#, #"null"#,
    ]

    @Test(arguments: documents)
    func agreesWithFoundation(_ text: String) throws {
        let ours = try JSONParser.parse(Data(text.utf8))
        let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours.sortingKeys() == theirs.sortingKeys(), "\(text)")
    }

    @Test func randomDocumentsAgreeWithFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let text = Self.random(depth: 0, using: &generator)
            let ours = try JSONParser.parse(Data(text.utf8))
            let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(ours.sortingKeys() == theirs.sortingKeys(), "\(text)")
            #expect(try JSONParser.parse(Data(ours.serialized().utf8)) == ours, "\(text)")
        }
    }

    /// Members keep the document's order (Foundation's decoder does not promise any), and serialization writes them
    /// back in that order with Python's `json.dumps` separators and escapes.
    /// `parsePrefix` reads one value and says where it ends, as Python's `raw_decode` (tool calls in model output).
    @Test func prefixReadsOneValueAndItsLength() throws {
        let (value, length) = try JSONParser.parsePrefix(Data(#"{"a": [1, 2]}; {"b": 3} trailing"#.utf8))
        #expect(value == .object(["a": .array([.number(1), .number(2)])]) && length == 13)
        #expect(try JSONParser.parsePrefix(Data("true!".utf8)).length == 4)
        #expect(throws: JSONParseError.self) { try JSONParser.parsePrefix(Data(#"{"a": "#.utf8)) }
    }

    @Test func membersKeepTheDocumentsOrder() throws {
        let text = #"{"zeta": 1, "alpha": {"b": [true, null], "a": "\u00e9\n\u0001"}, "mid": -2.5}"#
        let value = try JSONParser.parse(Data(text.utf8))
        #expect(value.object.map { Array($0.keys) } == ["zeta", "alpha", "mid"])
        // json.dumps(json.loads(text), ensure_ascii=False) and with ensure_ascii=True, as Python 3 prints them.
        #expect(value.serialized() == "{\"zeta\": 1, \"alpha\": {\"b\": [true, null], \"a\": \"é\\n\\u0001\"}, \"mid\": -2.5}")
        #expect(value.serialized(asciiOnly: true).contains(#""a": "\u00e9\n\u0001""#))
        #expect(value.serialized(itemSeparator: ",", keySeparator: ":") == #"{"zeta":1,"alpha":{"b":[true,null],"a":"é\n\u0001"},"mid":-2.5}"#)
    }

    /// JSON has no NaN or infinity (a model's output might hold them): they are written as null, never as text a
    /// client cannot parse.
    @Test func nonFiniteNumbersAreWrittenAsNull() throws {
        let value: JSONValue = .array([.number(.nan), .number(.infinity), .number(-.infinity), .number(1.5)])
        #expect(value.serialized(itemSeparator: ",") == "[null,null,null,1.5]")
        #expect(try JSONParser.parse(Data(value.serialized().utf8)) == .array([.null, .null, .null, .number(1.5)]))
    }

    @Test func repeatedKeysKeepTheLastValueAtEveryLevel() throws {
        let value = try JSONParser.parse(Data(#"{"a": 1, "b": {"c": 1, "c": [2]}, "a": {"x": 3}}"#.utf8))
        #expect(value == .object(["a": .object(["x": .number(3)]), "b": .object(["c": .array([.number(2)])])]))
        #expect(value.object.map { Array($0.keys) } == ["a", "b"])  // Python keeps the first position, the last value
    }

    @Test func nestingIsBoundedWithoutCrashing() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(throws: Never.self) { try JSONParser.parse(Data(ok.utf8)) }
        let deep = String(repeating: "{\"a\":", count: 513) + "1" + String(repeating: "}", count: 513)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Data(deep.utf8)) }
    }

    /// A random JSON document with escapes, unicode, numbers of every shape and whitespace between tokens.
    static func random(depth: Int, using g: inout SystemRandomNumberGenerator) -> String {
        let space = [" ", "", "\n", "\t ", "\r\n"].randomElement(using: &g)!
        switch Int.random(in: 0..<(depth > 4 ? 4 : 7), using: &g) {
        case 0: return ["true", "false", "null"].randomElement(using: &g)!
        case 1:
            let forms = ["0", "-0", "7", "-12", "3.25", "1e5", "-2.5E-3", "123456789", "0.1", "1E+9"]
            return forms.randomElement(using: &g)!
        case 2, 3:
            let pieces = ["a", "é", "中", "😀", "\\n", "\\\"", "\\\\", "\\u0041", "\\ud83d\\ude00", "\\/", " ", "\\t"]
            return "\"" + (0..<Int.random(in: 0..<6, using: &g)).map { _ in pieces.randomElement(using: &g)! }.joined() + "\""
        case 4, 5:
            let items = (0..<Int.random(in: 0..<4, using: &g)).map { _ in random(depth: depth + 1, using: &g) }
            return "[" + space + items.joined(separator: "," + space) + space + "]"
        default:
            let keys = Array(Set((0..<Int.random(in: 0..<4, using: &g)).map { _ in "k\(Int.random(in: 0..<9, using: &g))" }))
            let members = keys.map { "\"\($0)\"" + space + ":" + space + random(depth: depth + 1, using: &g) }
            return "{" + space + members.joined(separator: "," + space) + space + "}"
        }
    }
}

extension JSONValue {
    /// The same value with every object's members sorted by key (for comparing with decoders that lose order).
    func sortingKeys() -> JSONValue {
        switch self {
        case .array(let a): return .array(a.map { $0.sortingKeys() })
        case .object(let o): return .object(JSONObject(uniqueKeysWithValues: o.sorted { $0.key < $1.key }.map { ($0.key, $0.value.sortingKeys()) }))
        default: return self
        }
    }
}
