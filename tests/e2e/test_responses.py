"""`POST /v1/responses` driven by the official `openai` client with strict response validation: its pydantic models
parse our response objects and stream events, its stream helper assembles the final response from the events.
Greedy, short, on the default model."""
import json

import jsonschema
import openai
import pytest
import requests


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, _strict_response_validation=True)


INSTRUCTIONS = "You are a terse assistant."
QUESTION = "What is the capital of France? Answer in one word."


def test_a_response_answers_as_the_chat_endpoint_does(client):
    """instructions are the system message, input the user's: the same prompt, the same greedy tokens and usage."""
    response = client.responses.create(model="smollm2", instructions=INSTRUCTIONS, input=QUESTION, temperature=0,
                                       max_output_tokens=24)
    chat = client.chat.completions.create(model="smollm2", temperature=0, max_tokens=24,
                                          messages=[{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": QUESTION}])
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.output_text == chat.choices[0].message.content
    assert response.usage.input_tokens == chat.usage.prompt_tokens
    assert response.usage.output_tokens == chat.usage.completion_tokens
    assert response.usage.total_tokens == chat.usage.total_tokens
    [item] = response.output
    assert item.type == "message" and item.role == "assistant" and item.content[0].type == "output_text"
    expected = "incomplete" if chat.choices[0].finish_reason == "length" else "completed"
    assert response.status == expected and item.status == expected
    assert response.instructions == INSTRUCTIONS and response.max_output_tokens == 24 and response.store is False


def test_streamed_events_build_the_same_response(client):
    whole = client.responses.create(model="smollm2", instructions=INSTRUCTIONS, input=QUESTION, temperature=0, max_output_tokens=100)
    assert whole.status == "completed"
    events = list(client.responses.create(model="smollm2", instructions=INSTRUCTIONS, input=QUESTION, temperature=0,
                                          max_output_tokens=100, stream=True))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    assert set(types[4:-4]) == {"response.output_text.delta"}
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == whole.output_text == events[-1].response.output_text
    assert events[-1].response.usage.output_tokens == whole.usage.output_tokens
    # The client's own stream helper assembles the response from the events.
    with client.responses.stream(model="smollm2", instructions=INSTRUCTIONS, input=QUESTION, temperature=0,
                                 max_output_tokens=100) as stream:
        final = stream.get_final_response()
    assert final.output_text == whole.output_text


def test_max_output_tokens_leaves_the_response_incomplete(client):
    response = client.responses.create(model="smollm2", input="Tell me a long story about the sea.", temperature=0,
                                       max_output_tokens=4)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output[-1].status == "incomplete" and response.usage.output_tokens == 4
    events = list(client.responses.create(model="smollm2", input="Tell me a long story about the sea.", temperature=0,
                                          max_output_tokens=4, stream=True))
    assert events[-1].type == "response.incomplete" and events[-1].response.output_text == response.output_text


def test_text_format_json_schema_constrains_the_output(client):
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
              "required": ["city", "population"], "additionalProperties": False}
    response = client.responses.create(model="smollm2", input="Give the largest city of France as JSON.", temperature=0,
                                       max_output_tokens=60,
                                       text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}})
    jsonschema.validate(json.loads(response.output_text), schema)
    assert response.text.format.type == "json_schema"


def test_input_items_carry_the_conversation(client):
    """Message items with text parts, an earlier assistant turn, a function call and its output: one prompt."""
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "Remember the number 7."}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "I will remember 7."}]},
        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{\"key\": \"number\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "7"},
        {"role": "user", "content": "Which number?"},
    ]
    response = client.responses.create(model="smollm2", input=items, temperature=0, max_output_tokens=8)
    assert response.output and response.usage.input_tokens > 30
    tokens = requests.post(client.base_url.join("/tokenize").__str__(), json={"model": "smollm2", "messages": [
        {"role": "user", "content": "Remember the number 7."}, {"role": "assistant", "content": "I will remember 7."},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
                                                               "function": {"name": "lookup", "arguments": "{\"key\": \"number\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "7"}, {"role": "user", "content": "Which number?"}]}).json()
    assert response.usage.input_tokens == tokens["count"]


@pytest.mark.parametrize("extra, status, param", [
    ({"previous_response_id": "resp_123"}, 404, "previous_response_id"),
    ({"background": True}, 400, "background"),
    ({"tools": [{"type": "web_search"}]}, 400, "tools"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "http://x/y.png"}]}]}, 400, "input"),
    ({"include": ["reasoning.encrypted_content"]}, 400, "include"),
    ({"truncation": "auto"}, 400, "truncation"),
    ({"n": 2}, 400, "n"),
    ({"reasoning": {"effort": "extreme"}}, 400, "reasoning_effort"),
])
def test_what_cannot_be_served_is_refused_by_name(server, extra, status, param):
    body = {"model": "smollm2", "input": "hi", "max_output_tokens": 2, **extra}
    r = requests.post(server.url + "/v1/responses", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["param"] == param


def test_output_text_logprobs(client):
    """include message.output_text.logprobs with top_logprobs: one entry a generated token, each with its top
    alternatives, the greedy token first; the streamed deltas carry the same entries."""
    kwargs = dict(model="smollm2", instructions=INSTRUCTIONS, input=QUESTION, temperature=0, max_output_tokens=100,
                  include=["message.output_text.logprobs"], top_logprobs=3)
    response = client.responses.create(**kwargs)
    part = response.output[0].content[0]
    assert len(part.logprobs) == response.usage.output_tokens
    for entry in part.logprobs:
        assert len(entry.top_logprobs) == 3 and entry.top_logprobs[0].logprob == entry.logprob <= 0
    assert "".join(entry.token for entry in part.logprobs).startswith(part.text)
    events = list(client.responses.create(stream=True, **kwargs))
    streamed = [entry for e in events if e.type == "response.output_text.delta" for entry in e.logprobs]
    final = events[-1].response.output[0].content[0].logprobs
    assert [e.token for e in final] == [e.token for e in part.logprobs]
    assert [e.token for e in streamed] == [e.token for e in final][:len(streamed)] and len(streamed) >= len(final) - 1
