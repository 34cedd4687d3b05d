import Foundation
import VLLMJSON

/// Byte-level scanning helpers the tool parsers share. Model output is scanned as UTF-8 bytes; every offset the
/// parsers cut at is next to an ASCII delimiter, so cuts never split a character.
enum TextScan {
    /// The first offset at or after `from` where `needle` starts.
    static func find(_ haystack: [UInt8], _ needle: [UInt8], from: Int = 0) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// The length of the longest suffix of `text` that is a proper prefix of `tag` (vLLM's `partial_tag_overlap`):
    /// text a streaming parser holds back because the next delta may complete the tag.
    static func partialOverlap(_ text: [UInt8], _ tag: [UInt8]) -> Int {
        var length = min(text.count, tag.count - 1)
        while length > 0 {
            if text[(text.count - length)...].elementsEqual(tag[..<length]) { return length }
            length -= 1
        }
        return 0
    }

    /// The offset just past the bracket that closes the one at `start` (`{`/`}`, `[`/`]` or `(`/`)` nesting freely),
    /// skipping brackets inside strings quoted by any of `quotes` (backslash escapes); nil while it is still open.
    static func balancedEnd(_ bytes: [UInt8], from start: Int, quotes: [UInt8] = [UInt8(ascii: "\"")]) -> Int? {
        var depth = 0
        var quote: UInt8?
        var escaped = false
        var i = start
        while i < bytes.count {
            let c = bytes[i]
            if let q = quote {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == q { quote = nil }
            } else if quotes.contains(c) {
                quote = c
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") || c == UInt8(ascii: "(") {
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") || c == UInt8(ascii: ")") {
                depth -= 1
                if depth == 0 { return i + 1 }
            }
            i += 1
        }
        return nil
    }

    /// The first JSON value at `from` and the offset just past it (Python's `JSONDecoder.raw_decode`).
    static func jsonPrefix(_ bytes: [UInt8], from: Int) -> (JSONValue, Int)? {
        guard from < bytes.count, let (value, length) = try? JSONParser.parsePrefix(Data(bytes[from...])) else { return nil }
        return (value, from + length)
    }

    /// The whole of `bytes` as one JSON value (`json.loads`: whitespace around it allowed).
    static func json(_ bytes: ArraySlice<UInt8>) -> JSONValue? { try? JSONParser.parse(Data(bytes)) }

    /// The value of `"key": "..."` once its closing quote is there (vLLM's `"name"\s*:\s*"([^"]+)"`).
    static func stringField(_ bytes: ArraySlice<UInt8>, _ key: String) -> String? {
        let pattern = Array("\"\(key)\"".utf8)
        let all = Array(bytes)
        var from = 0
        while let at = find(all, pattern, from: from) {
            from = at + 1
            var i = skipSpaces(all, at + pattern.count)
            guard i < all.count, all[i] == UInt8(ascii: ":") else { continue }
            i = skipSpaces(all, i + 1)
            guard i < all.count, all[i] == UInt8(ascii: "\"") else { continue }
            guard let close = all[(i + 1)...].firstIndex(of: UInt8(ascii: "\"")), close > i + 1 else { continue }
            return String(decoding: all[(i + 1)..<close], as: UTF8.self)
        }
        return nil
    }

    static func skipSpaces(_ bytes: [UInt8], _ from: Int) -> Int {
        var i = from
        while i < bytes.count, isSpace(bytes[i]) { i += 1 }
        return i
    }

    static func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r")
    }

    static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Where the value of `"key":` starts in `bytes` (the first such key followed by a colon).
    static func valueStart(_ bytes: [UInt8], key: String, from: Int = 0) -> Int? {
        let pattern = Array("\"\(key)\"".utf8)
        var position = from
        while let at = find(bytes, pattern, from: position) {
            position = at + 1
            let colon = skipSpaces(bytes, at + pattern.count)
            guard colon < bytes.count, bytes[colon] == UInt8(ascii: ":") else { continue }
            let value = skipSpaces(bytes, colon + 1)
            return value < bytes.count ? value : nil
        }
        return nil
    }

    /// The part of a still-open JSON object's final `json.dumps` text that is already certain: `{` and its complete
    /// members, each written as `json.dumps` writes it (`"key": value`, joined by `, `), so that later readings only
    /// extend it. Lets arguments stream in pieces that add up to exactly the complete call's arguments.
    static func stableObjectPrefix(_ bytes: [UInt8], from: Int) -> String? {
        guard from < bytes.count, bytes[from] == UInt8(ascii: "{") else { return nil }
        var out = "{"
        var i = from + 1
        var first = true
        while true {
            i = skipSpaces(bytes, i)
            if !first {
                guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { return out }
                i = skipSpaces(bytes, i + 1)
            }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let (key, keyEnd) = jsonPrefix(bytes, from: i), let name = key.string else { return out }
            let colon = skipSpaces(bytes, keyEnd)
            guard colon < bytes.count, bytes[colon] == UInt8(ascii: ":") else { return out }
            let start = skipSpaces(bytes, colon + 1)
            guard start < bytes.count, let (value, end) = jsonPrefix(bytes, from: start) else { return out }
            // A number or literal is complete only once something follows it (`12` may yet become `123`).
            let next = skipSpaces(bytes, end)
            guard next < bytes.count, bytes[next] == UInt8(ascii: ",") || bytes[next] == UInt8(ascii: "}") else { return out }
            out += (first ? "" : ", ") + JSONValue.string(name).serialized() + ": " + value.serialized()
            first = false
            i = end
        }
    }

    /// Calls written as a JSON array of `{"name": ..., <argumentsKey>: {...}}` objects, as far as `bytes` from
    /// `from` (the array's `[`) goes: complete objects give name and arguments (serialized as `json.dumps`, `{}`
    /// when absent), the open one its name once complete. Used by Mistral's parser and for `tool_choice: required`.
    static func partialArrayCalls(_ bytes: [UInt8], from: Int, argumentsKey: String) -> [PartialToolCalls.Call] {
        var calls: [PartialToolCalls.Call] = []
        var i = skipSpaces(bytes, from)
        guard i < bytes.count, bytes[i] == UInt8(ascii: "[") else { return [] }
        i += 1
        while true {
            while i < bytes.count, isSpace(bytes[i]) || bytes[i] == UInt8(ascii: ",") { i += 1 }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return calls }
            guard let end = balancedEnd(bytes, from: i) else {
                let arguments = valueStart(bytes, key: argumentsKey, from: i).flatMap { stableObjectPrefix(bytes, from: $0) }
                calls.append(.init(name: stringField(bytes[i...], "name"), arguments: arguments))
                return calls
            }
            guard let object = json(bytes[i..<end])?.object, let name = object["name"]?.string else { return calls }
            calls.append(.init(name: name, arguments: (object[argumentsKey] ?? .object([:])).serialized()))
            i = end
        }
    }
}
