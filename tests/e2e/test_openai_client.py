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
