import VLLMEngine
import VLLMJSON

/// Logprobs as vLLM's OpenAI server writes them: the Completions API's `tokens` / `token_logprobs` / `top_logprobs`
/// / `text_offset` lists (the prompt's positions first when echoed), and the `prompt_logprobs` list of vLLM's
/// extension. Token text is each id decoded alone, special tokens included; -inf becomes -9999, as vLLM clamps it.
struct LogprobsJSON {
    let backend: any GenerationBackend

    /// One position of the Completions lists: the token there, and its logprobs (nil for a prompt's first token,
    /// which has no context: null in `token_logprobs` and `top_logprobs`).
    struct Position {
        var tokenID: Int32
        var logprobs: TokenLogprobs?
    }

    /// The positions of an echoed prompt: token 0 without logprobs, then `promptLogprobs` (tokens 1, 2, ...).
    static func promptPositions(_ promptTokenIDs: [Int32], _ promptLogprobs: [TokenLogprobs]) -> [Position] {
        promptTokenIDs.enumerated().map { i, id in Position(tokenID: id, logprobs: i == 0 || i > promptLogprobs.count ? nil : promptLogprobs[i - 1]) }
    }

    /// The positions of generated tokens.
    static func outputPositions(_ entries: [TokenLogprobs]) -> [Position] {
        entries.map { Position(tokenID: $0.tokenID, logprobs: $0) }
    }

    /// The Completions API's logprobs object. Each `top_logprobs` entry holds the position's token and the `topCount`
    /// most likely (vLLM's first `logprobs + 1` entries), keyed by their text; `text_offset` counts characters from
    /// `offset` (the text already sent for the choice).
    func completion(_ positions: [Position], topCount: Int, offset: Int) -> JSONValue {
        var tokens: [JSONValue] = [], values: [JSONValue] = [], tops: [JSONValue] = [], offsets: [JSONValue] = []
        var position = offset
        for entry in positions {
            let text = decode(entry.tokenID)
            tokens.append(.string(text))
            offsets.append(Responses.number(position))
            position += text.unicodeScalars.count
            guard let lp = entry.logprobs else {
                values.append(.null)
                tops.append(.null)
                continue
            }
            values.append(Self.number(lp.logprob))
            var top: JSONObject = [text: Self.number(lp.logprob)]
            for alternative in lp.top.prefix(topCount) where alternative.id != entry.tokenID {
                top[decode(alternative.id)] = Self.number(alternative.logprob)
            }
            tops.append(.object(top))
        }
        return .object(["tokens": .array(tokens), "token_logprobs": .array(values), "top_logprobs": .array(tops),
                        "text_offset": .array(offsets)])
    }

    /// vLLM's `prompt_logprobs`: null for the first token, then for each prompt token a map from token id (as a
    /// string) to `{logprob, rank, decoded_token}`: the prompt token first (its rank in the whole vocabulary), then
    /// the most likely tokens, ranks 1, 2, ...
    func promptLogprobs(_ entries: [TokenLogprobs]) -> JSONValue {
        .array([.null] + entries.map { lp in
            var map: JSONObject = [String(lp.tokenID): item(lp.tokenID, lp.logprob, rank: lp.rank)]
            for (rank, alternative) in lp.top.enumerated() where alternative.id != lp.tokenID {
                map[String(alternative.id)] = item(alternative.id, alternative.logprob, rank: rank + 1)
            }
            return .object(map)
        })
    }

    private func item(_ id: Int32, _ logprob: Float, rank: Int) -> JSONValue {
        .object(["logprob": Self.number(logprob), "rank": Responses.number(rank), "decoded_token": .string(decode(id))])
    }

    private func decode(_ id: Int32) -> String { backend.detokenize([id], skipSpecialTokens: false) }

    static func number(_ logprob: Float) -> JSONValue { .number(Double(max(logprob, -9999))) }
}
