import Testing
import VLLMJSON
@testable import VLLMServer

/// The tool-call parsers against vLLM's own test cases (tests/tool_parsers/test_*_tool_parser.py: the expected
/// values are theirs), each complete and streamed in chunks of every size from 1 to 9 bytes.
struct ToolParserTests {
    typealias Call = ParsedToolCall

    /// Streams `output` through `ToolCallStreamer` in chunks of `size` characters and rebuilds content and calls
    /// from the deltas, checking the chunk shape on the way (id, type and name first, then arguments only).
    static func streamed(_ parser: any ToolParser, _ output: String, size: Int) -> (content: String, calls: [Call]) {
        var streamer = ToolCallStreamer(parser: parser)
        var text = "", content = ""
        var calls: [Call] = []
        func take(_ piece: String?, _ entries: [JSONValue]) {
            content += piece ?? ""
            for entry in entries {
                let object = entry.object ?? [:]
                let index = Int(object["index"]?.number ?? -1)
                let function = object["function"]?.object ?? [:]
                if let name = function["name"]?.string {
                    #expect(index == calls.count && object["type"] == .string("function") && object["id"]?.string != nil)
                    calls.append(Call(name: name, arguments: ""))
                } else {
                    #expect(object["id"] == nil && calls.indices.contains(index))
                }
                if let arguments = function["arguments"]?.string, calls.indices.contains(index) { calls[index].arguments += arguments }
            }
        }
        let characters = Array(output)
        for start in stride(from: 0, to: characters.count, by: size) {
            text += String(characters[start..<min(start + size, characters.count)])
            let (piece, entries) = streamer.feed(text)
            take(piece, entries)
        }
        let (piece, entries) = streamer.finish(text)
        take(piece, entries)
        return (content, calls)
    }

    static func check(_ parser: any ToolParser, _ output: String, content: String?, calls: [Call], streamedContent: String? = nil,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        let extraction = parser.extract(output)
        #expect(extraction.calls == calls, sourceLocation: sourceLocation)
        #expect(extraction.content == content, sourceLocation: sourceLocation)
        for size in 1...9 {
            let (streamed, streamedCalls) = Self.streamed(parser, output, size: size)
            #expect(streamedCalls.map(\.name) == calls.map(\.name), "chunks of \(size)", sourceLocation: sourceLocation)
            #expect(streamed == streamedContent ?? content ?? "", "chunks of \(size)", sourceLocation: sourceLocation)
            for (got, want) in zip(streamedCalls, calls) {
                #expect(TextScan.json(Array(got.arguments.utf8)[...]) == TextScan.json(Array(want.arguments.utf8)[...]),
                        "chunks of \(size): \(got.arguments)", sourceLocation: sourceLocation)
            }
        }
    }

    // MARK: hermes

    @Test func hermesCalls() {
        let parser = HermesToolParser()
        Self.check(parser, "How can I help you today?", content: "How can I help you today?", calls: [])
        let weather = #"<tool_call>{"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}</tool_call>"#
        let call = Call(name: "get_current_weather", arguments: #"{"city": "Dallas", "state": "TX", "unit": "fahrenheit"}"#)
        Self.check(parser, weather, content: nil, calls: [call])
        Self.check(parser, "Let me check.\n" + weather, content: "Let me check.\n", calls: [call])
        // Qwen2.5's layout: newlines around the JSON; two calls; compact JSON re-serialized as json.dumps writes it.
        let two = "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\":1,\"y\":[true,null]}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>"
        Self.check(parser, two, content: nil, calls: [Call(name: "a", arguments: #"{"x": 1, "y": [true, null]}"#), Call(name: "b", arguments: "{}")])
        // An unclosed last block (max_tokens, or the stop token ate the tag) still counts once its JSON is complete.
        Self.check(parser, #"<tool_call>{"name": "f", "arguments": {"k": "v"}}"#, content: nil, calls: [Call(name: "f", arguments: #"{"k": "v"}"#)])
    }

    @Test func hermesMalformedCallIsContent() {
        let parser = HermesToolParser()
        let broken = #"<tool_call>{"name": "f", "arguments": {"k": </tool_call>"#
        #expect(parser.extract(broken) == .text(broken))
        let noArguments = #"<tool_call>{"name": "f"}</tool_call>"#
        #expect(parser.extract(noArguments) == .text(noArguments))
        // Streaming holds back what may be the start of a tag, and sends it when it is not one.
        var streamer = ToolCallStreamer(parser: parser)
        #expect(streamer.feed("Use <tool").content == "Use ")
        #expect(streamer.feed("Use <tools> wisely").content == "<tools> wisely")
        #expect(!streamer.calledTools)
    }

    @Test func hermesStreamsArgumentsInPieces() {
        var streamer = ToolCallStreamer(parser: HermesToolParser())
        var pieces: [String] = []
        var text = ""
        for piece in ["<tool_call>", "{\"name\": \"f\", ", "\"arguments\": {\"a\": ", "\"xyz\"", "}}", "</tool_call>"] {
            text += piece
            for entry in streamer.feed(text).toolCalls {
                if let arguments = entry.object?["function"]?.object?["arguments"]?.string { pieces.append(arguments) }
            }
        }
        #expect(pieces == ["{\"a\": ", "\"xyz\"", "}"])
    }

    /// JSON-object calls stream their arguments member by member, in pieces that add up to exactly the complete
    /// call's `json.dumps` text (vLLM streams the growing `json.dumps` of its partial parse).
    @Test(arguments: [
        (Llama3JSONToolParser() as any ToolParser, #"{"name": "searchTool", "parameters": {"query": "test query", "limit": 10, "deep": {"a": [1, 2]}}}"#),
        (MistralToolParser() as any ToolParser, #"[TOOL_CALLS] [{"name": "searchTool", "arguments": {"query":"test query","limit":10,"deep":{"a":[1,2]}}}]"#),
        (RequiredToolParser() as any ToolParser, #"[{"name": "searchTool", "parameters": {"query": "test query", "limit": 10, "deep": {"a": [1, 2]}}}]"#),
    ])
    func jsonCallsStreamArgumentsInPieces(_ parser: any ToolParser, _ output: String) {
        var streamer = ToolCallStreamer(parser: parser)
        var text = ""
        var pieces: [String] = []
        for character in output {
            text.append(character)
            pieces += streamer.feed(text).toolCalls.compactMap { $0.object?["function"]?.object?["arguments"]?.string }
        }
        pieces += streamer.finish(text).toolCalls.compactMap { $0.object?["function"]?.object?["arguments"]?.string }
        #expect(pieces.count >= 4, "\(pieces)")
        #expect(pieces.joined() == #"{"query": "test query", "limit": 10, "deep": {"a": [1, 2]}}"#)
    }

    // MARK: llama3_json

    @Test func llama3JSONCalls() {
        let parser = Llama3JSONToolParser()
        Self.check(parser, "This is just some text without any tool calls", content: "This is just some text without any tool calls", calls: [])
        Self.check(parser, #"{"name": "searchTool", "parameters": {"query": "test query", "limit": 10}}"#, content: nil,
                   calls: [Call(name: "searchTool", arguments: #"{"query": "test query", "limit": 10}"#)])
        Self.check(parser, #"<|python_tag|>{"name": "searchTool", "arguments": {"query": "test"}}"#, content: nil,
                   calls: [Call(name: "searchTool", arguments: #"{"query": "test"}"#)])
        for separator in ["; ", ";", ";\n", "\n", " ; "] {
            Self.check(parser, #"{"name": "searchTool", "parameters": {"query": "test1"}}"# + separator + #"{"name": "getOpenIncidentsTool", "parameters": {}}"#,
                       content: nil, calls: [Call(name: "searchTool", arguments: #"{"query": "test1"}"#), Call(name: "getOpenIncidentsTool", arguments: "{}")])
        }
        let quoted = #"{"name": "parserTool", "parameters": {"text": "He said \"Hello {world}\""}}"#
        Self.check(parser, quoted, content: nil, calls: [Call(name: "parserTool", arguments: #"{"text": "He said \"Hello {world}\""}"#)])
    }

    @Test func llama3JSONNonCalls() {
        let parser = Llama3JSONToolParser()
        for output in [#"{"name": "invalidTool", "parameters": {invalid json}"#, #"{"parameters": {}}"#, #"{"name": "toolWithoutParams"}"#] {
            #expect(parser.extract(output) == .text(output))
        }
        // Text around calls is dropped (not streamed: output that does not start with a call is content).
        let surrounded = #"Here is the result: {"name": "getOpenIncidentsTool", "parameters": {}} Would you like to know more?"#
        #expect(parser.extract(surrounded) == ToolCallExtraction(calls: [Call(name: "getOpenIncidentsTool", arguments: "{}")], content: nil))
        let trailing = #"{"name": "searchTool", "parameters": {"query": "test"}} The arguments I passed were {"query": "test"}"#
        #expect(parser.extract(trailing).calls == [Call(name: "searchTool", arguments: #"{"query": "test"}"#)])
    }

    // MARK: mistral

    @Test func mistralCalls() {
        let parser = MistralToolParser()
        Self.check(parser, "How can I help you today?", content: "How can I help you today?", calls: [])
        let two = #"[TOOL_CALLS] [{"name": "add", "arguments": {"a": 3.5, "b": 4}}, {"name": "get_current_weather", "arguments":{"city": "San Francisco", "state": "CA", "unit": "celsius"}}]"#
        Self.check(parser, two, content: nil, calls: [Call(name: "add", arguments: #"{"a": 3.5, "b": 4}"#),
                                                      Call(name: "get_current_weather", arguments: #"{"city": "San Francisco", "state": "CA", "unit": "celsius"}"#)])
        Self.check(parser, #"Sure.[TOOL_CALLS][{"name": "ping"}]"#, content: "Sure.", calls: [Call(name: "ping", arguments: "{}")])
        #expect(parser.newCallID().count == 9 && parser.newCallID().allSatisfy { $0.isLetter || $0.isNumber })
    }

    @Test func mistralV11Format() {
        let parser = MistralToolParser(argsFormat: true)
        Self.check(parser, #"[TOOL_CALLS]add_this_and_that{"a": 3.5, "b": 4}"#, content: nil, calls: [Call(name: "add_this_and_that", arguments: #"{"a": 3.5, "b": 4}"#)])
        Self.check(parser, #"[TOOL_CALLS]add[ARGS]{"a": 1}[TOOL_CALLS]sub[ARGS]{"b": 2}"#, content: nil,
                   calls: [Call(name: "add", arguments: #"{"a": 1}"#), Call(name: "sub", arguments: #"{"b": 2}"#)])
    }

    // MARK: pythonic

    static let simple = "get_weather(city='San Francisco', metric='celsius')"
    static let simpleCall = Call(name: "get_weather", arguments: #"{"city": "San Francisco", "metric": "celsius"}"#)

    @Test func pythonicCalls() {
        let parser = PythonicToolParser()
        Self.check(parser, "How can I help you today?", content: "How can I help you today?", calls: [])
        Self.check(parser, "[\(Self.simple)]", content: nil, calls: [Self.simpleCall])
        let moreTypes = "register_user(name='John Doe', age=37, address={'city': 'San Francisco', 'state': 'CA'}, role=None, passed_test=True, aliases=['John', 'Johnny'])"
        let moreTypesCall = Call(name: "register_user", arguments: #"{"name": "John Doe", "age": 37, "address": {"city": "San Francisco", "state": "CA"}, "role": null, "passed_test": true, "aliases": ["John", "Johnny"]}"#)
        Self.check(parser, "[\(moreTypes)]", content: nil, calls: [moreTypesCall])
        Self.check(parser, "[get_weather()]", content: nil, calls: [Call(name: "get_weather", arguments: "{}")])
        Self.check(parser, "[do_something_cool(additional_data={})]", content: nil, calls: [Call(name: "do_something_cool", arguments: #"{"additional_data": {}}"#)])
        Self.check(parser, "[do_something_cool(steps=[])]", content: nil, calls: [Call(name: "do_something_cool", arguments: #"{"steps": []}"#)])
        Self.check(parser, #"[get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')]"#, content: nil,
                   calls: [Call(name: "get_weather", arguments: #"{"city": "Martha's Vineyard", "metric": "\"cool units\""}"#)])
        Self.check(parser, "[\(Self.simple), \(moreTypes)]", content: nil, calls: [Self.simpleCall, moreTypesCall])
    }

    @Test func pythonicBadSiblingsAreDropped() {
        let parser = PythonicToolParser()
        #expect(parser.extract("[bad(x=b'z'), \(Self.simple)]").calls == [Self.simpleCall])
        #expect(parser.extract("[calc(x=1e999), \(Self.simple)]").calls == [Self.simpleCall])
        #expect(parser.extract("[\(Self.simple), f(a='x 'y', b='z')]").calls == [Self.simpleCall])
        let hopeless = "[f(a='x 'y' 'z), g(b='p 'q' 'r)]"
        #expect(parser.extract(hopeless) == .text(hopeless))
    }
}
