import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VLLMEngine
import VLLMServer

/// Request parameters behave as vLLM's do: token ids out of the vocabulary, fields we cannot honour and requests
/// for too many sequences are 400s naming the parameter, never silently ignored, truncated or accepted.
/// The fake backend's vocabulary has 256 tokens.
struct ParameterTests {
    static func app(_ backend: FakeBackend = FakeBackend(), maxSequences: Int = 128) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configuration.servedModelNames = ["fake"]
        configuration.maxSequencesPerRequest = maxSequences
        return Application(router: OpenAIServer.router(ServerContext(backend: backend, configuration: configuration)))
    }

    static let endpoints = [
        ("/v1/completions", #""prompt": "Hi""#),
        ("/v1/chat/completions", #""messages": [{"role": "user", "content": "Hi"}]"#),
    ]

    /// Posts `extra` fields with a small request to both generation endpoints; returns (status, error message, param).
    static func each(_ client: some TestClientProtocol, _ extra: String,
                     _ check: (String, HTTPResponse.Status, String, String?) -> Void) async throws {
        for (uri, input) in endpoints {
            let (status, body, _) = try await post(client, uri, #"{"model": "fake", \#(input), "max_tokens": 2, \#(extra)}"#)
            let error = body["error"] as? [String: Any] ?? [:]
            check(uri, status, error["message"] as? String ?? "", error["param"] as? String)
        }
    }

    @Test func logitBiasOutOfTheVocabularyIs400() async throws {
        try await Self.app().test(.router) { client in
            try await Self.each(client, #""logit_bias": {"256": 5, "-1": 2, "65": 1}"#) { uri, status, message, param in
                #expect(status == .badRequest, "\(uri)")
                #expect(message == "token_id(s) [-1, 256] in logit_bias contain out-of-vocab token ids. Vocabulary size: 256", "\(uri)")
                #expect(param == "logit_bias")
            }
            try await Self.each(client, #""logit_bias": {"4294967301": 5}"#) { uri, status, message, _ in
                #expect(status == .badRequest && message.contains("'4294967301'") && message.contains("out-of-vocab"), "\(uri): \(message)")
            }
        }
    }

    @Test func logitBiasKeysMustBeIntegers() async throws {
        try await Self.app().test(.router) { client in
            try await Self.each(client, #""logit_bias": {"abc": 5, "1.5": 1, "7": 1}"#) { uri, status, message, param in
                #expect(status == .badRequest, "\(uri)")
                #expect(message == "logit_bias contains key(s) that cannot be converted to integer token IDs: ['1.5', 'abc']")
                #expect(param == "logit_bias")
            }
        }
    }

    /// vLLM clamps each bias to [-100, 100] (OpenAI's range) and reads keys as Python's `int()` does.
    @Test func logitBiasValuesClampAndKeysReadAsPython() async throws {
        let backend = FakeBackend()
        try await Self.app(backend).test(.router) { client in
            try await Self.each(client, #""logit_bias": {"65": 500, " 66 ": -1e9, "+67": 3.5}"#) { uri, status, message, _ in
                #expect(status == .ok, "\(uri): \(message)")
                #expect(backend.lastParameters.withLock { $0?.logitBias } == [65: 100, 66: -100, 67: 3.5])
            }
        }
    }

    @Test func allowedTokenIDsOutOfRangeAreRefusedNotTruncated() async throws {
        let backend = FakeBackend()
        try await Self.app(backend).test(.router) { client in
            // 2^32 + 5 used to wrap around to 5.
            try await Self.each(client, #""allowed_token_ids": [4294967301]"#) { uri, status, message, param in
                #expect(status == .badRequest, "\(uri)")
                #expect(message.hasPrefix("allowed_token_ids contains out-of-vocab token id!") && message.contains("4294967301"), "\(message)")
                #expect(param == "allowed_token_ids")
            }
            try await Self.each(client, #""allowed_token_ids": [5, 256]"#) { uri, status, message, _ in
                #expect(status == .badRequest && message.hasPrefix("allowed_token_ids contains out-of-vocab token id!"), "\(uri)")
            }
            try await Self.each(client, #""allowed_token_ids": []"#) { uri, status, message, param in
                #expect(status == .badRequest && message == "allowed_token_ids is not None and empty!" && param == "allowed_token_ids", "\(uri)")
            }
            try await Self.each(client, #""allowed_token_ids": [5, 255]"#) { uri, status, _, _ in
                #expect(status == .ok, "\(uri)")
                #expect(backend.lastParameters.withLock { $0?.allowedTokenIDs } == [5, 255])
            }
            try await Self.each(client, #""stop_token_ids": [4294967301]"#) { uri, status, _, param in
                #expect(status == .badRequest && param == "stop_token_ids", "\(uri)")
            }
        }
    }

    /// Accepted and ignored before; refused by name now (vLLM V1 refuses best_of > 1 too).
    @Test(arguments: [
        (#""best_of": 3"#, "best_of", "best_of is not supported"),
    ])
    func unsupportedFieldsAreRefusedByName(_ extra: String, _ name: String, _ prefix: String) async throws {
        try await Self.app().test(.router) { client in
            try await Self.each(client, extra) { uri, status, message, param in
                #expect(status == .badRequest, "\(uri) \(extra)")
                #expect(message.hasPrefix(prefix) && param == name, "\(uri): \(message)")
            }
        }
    }

    /// Accepted and ignored before: now the prompt is cut to its last k tokens, as vLLM does.
    @Test func truncatePromptTokensKeepsTheLastTokens() async throws {
        try await Self.app().test(.router) { client in
            let (status, body, _) = try await post(client, "/v1/completions",
                                                   #"{"prompt": "Hello", "truncate_prompt_tokens": 2, "echo": true, "max_tokens": 1}"#)
            #expect(status == .ok)
            #expect((body["usage"] as? [String: Int])?["prompt_tokens"] == 2)
            #expect((body["choices"] as? [[String: Any]])?.first?["text"] as? String == "loh", "echo shows the prompt the model saw")
            let (chat, chatBody, _) = try await post(client, "/v1/chat/completions",
                                                     #"{"messages": [{"role": "user", "content": "Hello"}], "truncate_prompt_tokens": 3, "max_tokens": 1}"#)
            #expect(chat == .ok && (chatBody["usage"] as? [String: Int])?["prompt_tokens"] == 3)
            let (tooMany, tooManyBody, _) = try await post(client, "/v1/completions", #"{"prompt": "Hi", "truncate_prompt_tokens": 65}"#)
            #expect(tooMany == .badRequest)
            #expect(((tooManyBody["error"] as? [String: Any])?["message"] as? String)?.hasPrefix("truncate_prompt_tokens value (65) is greater than max_model_len (64)") == true)
        }
    }

    /// Accepted and ignored in completions before (always true); chat's default is false, as in vLLM.
    @Test func addSpecialTokensIsHonoured() async throws {
        try await Self.app(FakeBackend(bos: 1)).test(.router) { client in
            for (uri, input, expected) in [("/v1/completions", #""prompt": "Hi""#, [3, 2, 3]), ("/v1/chat/completions", #""messages": [{"role": "user", "content": "Hi"}]"#, [19, 19, 20])] {
                var counts: [Int] = []
                for flag in ["", #", "add_special_tokens": false"#, #", "add_special_tokens": true"#] {
                    let (_, body, _) = try await post(client, uri, #"{\#(input), "max_tokens": 1\#(flag)}"#)
                    counts.append((body["usage"] as? [String: Int])?["prompt_tokens"] ?? -1)
                }
                #expect(counts == expected, "\(uri)")
            }
        }
    }

    /// Accepted and ignored before: the salt now reaches the engine, which mixes it into the prefix-cache hashes.
    @Test func cacheSaltReachesTheEngine() async throws {
        let backend = FakeBackend()
        try await Self.app(backend).test(.router) { client in
            try await Self.each(client, #""cache_salt": "tenant-1""#) { uri, status, _, _ in
                #expect(status == .ok, "\(uri)")
                #expect(backend.lastParameters.withLock { $0?.cacheSalt } == "tenant-1")
            }
            try await Self.each(client, #""cache_salt": """#) { uri, status, message, param in
                #expect(status == .badRequest && param == "cache_salt", "\(uri)")
                #expect(message == "Parameter 'cache_salt' must be a non-empty string if provided.")
            }
        }
    }

    /// `bad_words` reaches the engine, which tokenizes the words (BadWordsEngineTests); a non-string is a 400.
    @Test func badWordsReachTheEngine() async throws {
        let backend = FakeBackend()
        try await Self.app(backend).test(.router) { client in
            try await Self.each(client, #""bad_words": ["ab", " cd"]"#) { uri, status, _, _ in
                #expect(status == .ok, "\(uri)")
                #expect(backend.lastParameters.withLock { $0?.badWords } == ["ab", " cd"])
            }
            try await Self.each(client, #""bad_words": [1]"#) { uri, status, _, param in
                #expect(status == .badRequest && param == "bad_words", "\(uri)")
            }
        }
    }

    @Test func harmlessSettingsOfThoseFieldsAreAccepted() async throws {
        try await Self.app().test(.router) { client in
            try await Self.each(client, #""best_of": 1, "prompt_logprobs": null, "use_beam_search": false, "bad_words": []"#) { uri, status, message, _ in
                #expect(status == .ok, "\(uri): \(message)")
            }
        }
    }

    @Test func nAndPromptCountsAreBounded() async throws {
        try await Self.app().test(.router) { client in
            try await Self.each(client, #""n": 1000, "temperature": 1"#) { uri, status, message, param in
                #expect(status == .badRequest && param == "n", "\(uri)")
                #expect(message.hasPrefix("n must be at most 128, got 1000") && message.contains("--max-sequences-per-request"), "\(message)")
            }
            let many = "[" + Array(repeating: #""p""#, count: 10_000).joined(separator: ",") + "]"
            let (status, body, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": \#(many), "max_tokens": 1}"#)
            let error = body["error"] as? [String: Any] ?? [:]
            #expect(status == .badRequest && error["param"] as? String == "prompt")
            #expect((error["message"] as? String)?.contains("at most 128 prompts, got 10000") == true, "\(error)")
            let ids = "[" + Array(repeating: "[1, 2]", count: 200).joined(separator: ",") + "]"
            let (idStatus, _, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": \#(ids), "max_tokens": 1}"#)
            #expect(idStatus == .badRequest, "token-id prompts count too")
            let (product, productBody, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": ["a", "b"], "n": 100, "max_tokens": 1}"#)
            #expect(product == .badRequest, "2 prompts x n 100 = 200 sequences")
            #expect(((productBody["error"] as? [String: Any])?["message"] as? String)?.contains("= 200") == true)
        }
    }

    @Test func theSequenceLimitIsConfigurable() async throws {
        try await Self.app(maxSequences: 4).test(.router) { client in
            try await Self.each(client, #""n": 4"#) { uri, status, message, _ in #expect(status == .ok, "\(uri): \(message)") }
            try await Self.each(client, #""n": 5"#) { uri, status, message, _ in
                #expect(status == .badRequest && message.hasPrefix("n must be at most 4, got 5"), "\(uri)")
            }
            let (status, _, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": ["a", "b", "c", "d", "e"], "max_tokens": 1}"#)
            #expect(status == .badRequest)
        }
    }

    /// vLLM ignores fields it does not know (with a logged warning): routers and SDKs add their own.
    @Test func unknownFieldsAreIgnored() async throws {
        try await Self.app().test(.router) { client in
            try await Self.each(client, #""frobnicate": {"x": 1}, "router_hint": "a""#) { uri, status, message, _ in
                #expect(status == .ok, "\(uri): \(message)")
            }
            let (status, _, _) = try await post(client, "/tokenize", #"{"prompt": "Hi", "extra_field": true}"#)
            #expect(status == .ok)
        }
    }

    /// A token id beyond Int64 trapped converting the number (`Int64(1e300)`).
    @Test func hugePromptTokenIDsAre400() async throws {
        try await Self.app().test(.router) { client in
            for prompt in ["[1e300]", "[4294967301]", "[[5, -1e30]]"] {
                let (status, body, _) = try await post(client, "/v1/completions", #"{"model": "fake", "prompt": \#(prompt), "max_tokens": 1}"#)
                #expect(status == .badRequest, "\(prompt)")
                #expect((body["error"] as? [String: Any])?["param"] as? String == "prompt")
            }
        }
    }
}
