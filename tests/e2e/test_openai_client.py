"""The official openai client, with strict response validation, against the real server."""
import openai
import pytest
import requests


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, _strict_response_validation=True)


def test_models(client):
    assert [m.id for m in client.models.list().data] == ["smollm2"]


def test_completion_greedy(client):
    r = client.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=8, temperature=0)
    assert r.choices[0].text.startswith(" Paris")
    assert r.usage.prompt_tokens == 5 and r.usage.completion_tokens == 8
    assert r.choices[0].finish_reason == "length"


def test_chat(client):
    r = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "What is 2+2?"}],
                                       max_tokens=32, temperature=0)
    assert "4" in r.choices[0].message.content
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason == "stop"


def test_chat_stream_with_usage(client):
    stream = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Count to five."}],
                                            max_tokens=16, temperature=0, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 16
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    full = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": "Count to five."}],
                                          max_tokens=16, temperature=0)
    assert text == full.choices[0].message.content, "a stream carries exactly the non-streamed text"


def test_n_and_seed(client):
    kwargs = dict(model="smollm2", prompt="Once upon a time", max_tokens=12, temperature=1.0, n=2, seed=7)
    a = client.completions.create(**kwargs)
    b = client.completions.create(**kwargs)
    assert [c.index for c in a.choices] == [0, 1]
    assert [c.text for c in a.choices] == [c.text for c in b.choices]


def test_logprobs(client):
    r = client.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=3, temperature=0, logprobs=2)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == 3 and all(len(t) == 2 for t in lp.top_logprobs)
    assert lp.tokens[0] == " Paris" and lp.token_logprobs[0] == max(lp.top_logprobs[0].values())


def scored_ids(server, text):
    return requests.post(server.url + "/tokenize", json={"model": "smollm2", "prompt": text}).json()["tokens"]


def test_echo_scores_the_prompt_as_lm_eval_harness_asks(server, client):
    """lm-evaluation-harness' loglikelihood request: echo, logprobs, max_tokens 0. The engine is batch-invariant, so
    a greedy continuation scored as part of the prompt has exactly the logprobs its decode steps reported. The first
    prompt token has no context: null in token_logprobs and top_logprobs, as vLLM (and OpenAI's legacy API) answer,
    which the client's strict validation does not allow, so this request goes through a lenient client."""
    lenient = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    prompt = "The capital of France is"
    gen = client.completions.create(model="smollm2", prompt=prompt, max_tokens=6, temperature=0, logprobs=1)
    scored = lenient.completions.create(model="smollm2", prompt=prompt + gen.choices[0].text, max_tokens=0, echo=True,
                                       logprobs=1, temperature=0)
    choice = scored.choices[0]
    assert choice.text == prompt + gen.choices[0].text
    lp = choice.logprobs
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None and lp.text_offset[0] == 0
    n = len(gen.choices[0].logprobs.tokens)
    assert lp.tokens[-n:] == gen.choices[0].logprobs.tokens
    assert lp.token_logprobs[-n:] == gen.choices[0].logprobs.token_logprobs
    assert all(t[tok] == v for t, tok, v in zip(lp.top_logprobs[1:], lp.tokens[1:], lp.token_logprobs[1:]))
    prompt_logprobs = choice.model_extra["prompt_logprobs"]
    assert prompt_logprobs[0] is None and len(prompt_logprobs) == len(lp.tokens)
    for entry, token_id, value in zip(prompt_logprobs[1:], scored_ids(server, prompt + gen.choices[0].text)[1:], lp.token_logprobs[1:]):
        first_id, first = next(iter(entry.items()))
        assert int(first_id) == token_id and first["logprob"] == value and first["rank"] >= 1


def test_beam_search(client):
    """vLLM's use_beam_search through the client's extra_body: n beams, best first; one beam at temperature 0 is
    greedy decoding."""
    greedy = client.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=8, temperature=0)
    one = client.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=8, temperature=0,
                                    extra_body={"use_beam_search": True})
    assert one.choices[0].text == greedy.choices[0].text
    three = client.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=8, temperature=0,
                                      n=3, extra_body={"use_beam_search": True})
    assert [c.index for c in three.choices] == [0, 1, 2] and len({c.text for c in three.choices}) == 3


def test_stop_string(client):
    r = client.completions.create(model="smollm2", prompt="The capital of France is", max_tokens=16, temperature=0, stop=["."])
    assert r.choices[0].text == " Paris" and r.choices[0].finish_reason == "stop"


def test_bad_parameter_is_400(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model="smollm2", prompt="x", max_tokens=4, temperature=-1)
    assert "temperature" in str(e.value)


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="nope", prompt="x", max_tokens=4)


def test_api_key(keyed_server):
    assert requests.post(keyed_server.url + "/v1/completions", json={"model": "smollm2", "prompt": "x"}).status_code == 401
    good = openai.OpenAI(base_url=keyed_server.url + "/v1", api_key="sk-test", max_retries=0, _strict_response_validation=True)
    assert good.completions.create(model="smollm2", prompt="Hi", max_tokens=2).usage.completion_tokens == 2
    bad = openai.OpenAI(base_url=keyed_server.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.completions.create(model="smollm2", prompt="Hi", max_tokens=2)
