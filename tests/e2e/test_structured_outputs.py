"""Structured outputs through the real server on the default model, checked by independent validators: the official
`openai` client's `parse` (pydantic, strict) for response_format, `jsonschema` for schemas, Python's `re` for regexes.
A constrained request in a batch leaves the free requests beside it bit-identical to running alone."""
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import jsonschema
import openai
import pydantic
import requests

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "city": {"type": "string", "enum": ["Paris", "London", "Tokyo"]},
        "hobbies": {"type": "array", "items": {"type": "string", "maxLength": 12}, "minItems": 1, "maxItems": 3},
    },
    "required": ["name", "age", "city", "hobbies"],
    "additionalProperties": False,
}


class Person(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    name: str
    age: int
    city: Literal["Paris", "London", "Tokyo"]


def chat(server, extra, content="Describe a person living in a big city as JSON.", max_tokens=120, temperature=0):
    r = requests.post(server.url + "/v1/chat/completions", json={
        "model": "smollm2", "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens,
        "temperature": temperature, **extra}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]


def test_json_schema_output_validates(server):
    for temperature in (0, 1.0):
        choice = chat(server, {"response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}},
                               "seed": 7}, temperature=temperature)
        assert choice["finish_reason"] == "stop", choice
        jsonschema.validate(json.loads(choice["message"]["content"]), PERSON)
        # properties come in the schema's order
        assert list(json.loads(choice["message"]["content"]))[0] == "name"


def test_openai_client_parse(server):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none")
    completion = client.chat.completions.parse(model="smollm2", response_format=Person, max_tokens=100, temperature=0,
                                               messages=[{"role": "user", "content": "Invent a person."}])
    assert isinstance(completion.choices[0].message.parsed, Person)


def test_json_object_choice_regex_grammar(server):
    obj = chat(server, {"response_format": {"type": "json_object"}}, max_tokens=60)
    if obj["finish_reason"] == "stop":
        assert isinstance(json.loads(obj["message"]["content"]), dict)
    else:
        assert obj["message"]["content"].lstrip().startswith("{")
    choice = chat(server, {"structured_outputs": {"choice": ["positive", "negative", "neutral"]}},
                  content="Classify the sentiment: I love this!")
    assert choice["message"]["content"] in ("positive", "negative", "neutral") and choice["finish_reason"] == "stop"
    date = r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-[0-2][0-9]"
    out = chat(server, {"structured_outputs": {"regex": date}}, content="When was the Eiffel tower built?")
    assert re.fullmatch(date, out["message"]["content"]), out
    grammar = 'root ::= answer " " ("yes" | "no")\nanswer ::= "Answer:"'
    out = chat(server, {"structured_outputs": {"grammar": grammar}}, content="Is Paris in France?")
    assert re.fullmatch(r"Answer: (yes|no)", out["message"]["content"]), out
    r = requests.post(server.url + "/v1/completions", json={"model": "smollm2", "prompt": "The answer is", "max_tokens": 5,
                                                             "structured_outputs": {"choice": ["42", "seven"]}})
    assert r.status_code == 200 and r.json()["choices"][0]["text"] in ("42", "seven"), r.text


def test_bad_constraints_are_400_naming_the_feature(server):
    for extra, fragment in [
        ({"structured_outputs": {"regex": "(unclosed"}}, ""),
        ({"structured_outputs": {"grammar": "root ::= undefined_rule"}}, "undefined_rule"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "not": {"required": ["a"]}}}}},
         "not"),
        ({"guided_json": PERSON}, "structured_outputs"),
    ]:
        r = requests.post(server.url + "/v1/chat/completions", json={
            "model": "smollm2", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, **extra})
        assert r.status_code == 400, (extra, r.text)
        assert fragment in r.json()["error"]["message"], r.text


def test_free_requests_beside_constrained_ones_are_unchanged(server):
    prompts = [f"Write a sentence about the number {i}." for i in range(4)]

    def free(p):
        return chat(server, {"seed": 1}, content=p, max_tokens=24)["message"]["content"]

    alone = [free(p) for p in prompts]
    with ThreadPoolExecutor(8) as pool:
        constrained = [pool.submit(chat, server, {"response_format": {"type": "json_schema",
                                                                      "json_schema": {"name": "p", "schema": PERSON}}},
                                   max_tokens=60) for _ in range(4)]
        together = list(pool.map(free, prompts))
        for c in constrained:
            c.result()
    assert together == alone
