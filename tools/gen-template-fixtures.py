#!/usr/bin/env python3
"""Renders chat templates with Python jinja2 configured exactly as Hugging Face transformers configures it, and
writes the expected outputs as JSON fixtures for Tests/VLLMChatTemplatesTests.

  * Tests/VLLMChatTemplatesTests/Fixtures/jinja2-renderings.json: every real template in llama.cpp's
    models/templates (read from the fetched llama-cpp-python source; the templates themselves are not committed),
    each rendered with a few conversations.
  * Tests/VLLMChatTemplatesTests/Fixtures/jinja2-features.json: small hand-written templates, one feature each.

Rerun:  python3 -m venv ~/.cache/swift-vllm/venv-ref && ~/.cache/swift-vllm/venv-ref/bin/pip install jinja2
        ./tools/fetch-llama-cpp-source.sh && ~/.cache/swift-vllm/venv-ref/bin/python tools/gen-template-fixtures.py
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
TEMPLATES = os.path.join(CACHE, "llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates")
OUT = os.path.join(ROOT, "Tests/VLLMChatTemplatesTests/Fixtures")
DATE = datetime(2024, 7, 26, 10, 30, 0)


class AssistantTracker(Extension):
    # transformers' {% generation %} ... {% endgeneration %} block (assistant masks); renders its body unchanged.
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    # transformers.utils.chat_template_utils._compile_jinja_template
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return DATE.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string", "description": "City name"}},
                       "required": ["location"]}}}

CASES = {
    "chat": {"messages": [{"role": "system", "content": "You are terse."},
                          {"role": "user", "content": "Hi there, café ☕?"},
                          {"role": "assistant", "content": "Hello! How can I help?"},
                          {"role": "user", "content": "Tell me a joke."}],
             "add_generation_prompt": True},
    "user_only": {"messages": [{"role": "user", "content": "What is 2+2?"}], "add_generation_prompt": False},
    "tools": {"messages": [{"role": "user", "content": "Weather in Paris?"},
                           {"role": "assistant", "content": "",
                            "tool_calls": [{"id": "call_1", "type": "function",
                                            "function": {"name": "get_weather", "arguments": {"location": "Paris"}}}]},
                           {"role": "tool", "tool_call_id": "call_1", "content": "22 C, sunny"}],
              "tools": [TOOL], "add_generation_prompt": True},
    "parts": {"messages": [{"role": "user", "content": [{"type": "text", "text": "Describe this."},
                                                        {"type": "text", "text": "Briefly."}]}],
              "add_generation_prompt": True},
}

FEATURES = [
    ("{% if x %}\n  yes\n{% endif %}\nend", {"x": True}),
    ("  {%- if x -%}  a  {%- endif -%}  b", {"x": True}),
    ("{% for i in items %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}", {"items": ["a", "b", "c"]}),
    ("{% for i in items %}{{ i }}{% else %}empty{% endfor %}", {"items": []}),
    ("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", {}),
    ("{% set x %}block {{ 1 + 2 }}{% endset %}[{{ x }}]", {}),
    ("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bo') }} {{ greet('Al', punct='?') }}", {}),
    ("{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}inside{% endcall %}", {}),
    ("{% filter upper %}shout {{ 'this' }}{% endfilter %}", {}),
    ("{{ '  pad  '|trim }}|{{ 'ab'|upper }}|{{ 'AB'|lower }}|{{ 'hello world'|title }}|{{ 'hELLO'|capitalize }}", {}),
    ("{{ [1,2,3]|length }} {{ [1,2,3]|first }} {{ [1,2,3]|last }} {{ ['a','b']|join(', ') }} {{ 'a-b'|replace('-', '+') }}", {}),
    ("{{ missing|default('d') }} {{ ''|default('e', true) }} {{ ''|default('f') }}", {}),
    ("{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(',') }}", {"msgs": [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "u2"}]}),
    ("{{ msgs|rejectattr('role', 'equalto', 'user')|list|length }} {{ msgs|selectattr('tool')|list|length }}", {"msgs": [{"role": "user"}, {"role": "system", "tool": 1}]}),
    ("{{ [3,1,2]|sort|list }} {{ [3,1,2]|reverse|list }} {{ ['b','A','a']|unique|list }} {{ items|sort(attribute='n')|map(attribute='n')|list }}", {"items": [{"n": 2}, {"n": 1}]}),
    ("{{ 42|string }}{{ '7'|int + 1 }} {{ '2.5'|float }} {{ 3.14159|round(2) }} {{ -3|abs }} {{ 'a b  c'|wordcount }}", {}),
    ("{{ text|indent(2) }}|{{ text|indent(2, first=true) }}", {"text": "a\nb\n\nc"}),
    ("{{ obj|tojson }}\n{{ obj|tojson(indent=2) }}", {"obj": {"name": "x", "list": [1, 2.5, None, True], "nested": {"é": "☕"}, "empty": []}}),
    ("{{ '<b>'|safe }}{% for k, v in d|dictsort %}{{ k }}{{ v }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("{% set t = {512: 'a', 0: 'b'} %}{% for k, v in t|dictsort %}{{ k + 1 }}{{ v }}{% endfor %}{{ t[0] }}", {}),
    ("{{ none|selectattr('x')|list }}{{ none|map(attribute='x')|list }}", {}),
    ("{{ -3|abs }} {{ -(2)|string }}", {}),
    ("{{ ' x '.strip() }}|{{ 'xxhixx'.lstrip('x') }}|{{ 'a,b,c'.split(',') }}|{{ 'a b'.split() }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}", {}),
    ("{{ 'Hello'.upper() }}{{ 'Hello'.lower() }}{{ 'a-b'.replace('-', '_') }}{{ 'hello there'.title() }}{{ 'x=%s y=%d' % ('a', 3) }}", {}),
    ("{{ 'abcdef'[1:-1] }} {{ 'abc'[::-1] }} {{ [1,2,3,4][1:] }} {{ [1,2,3][-1] }} {{ 'abc'[0] }}", {}),
    ("{{ 'a' in 'cat' }} {{ 'z' not in ['a'] }} {{ 'k' in {'k': 1} }}", {}),
    ("{{ x is defined }} {{ y is defined }} {{ n is none }} {{ s is string }} {{ d is mapping }} {{ l is iterable }} {{ 3 is number }} {{ l is sequence }} {{ true is boolean }}", {"x": 1, "n": None, "s": "s", "d": {}, "l": []}),
    ("{{ 'a' ~ 1 ~ none }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }}", {}),
    ("{{ 'yes' if x else 'no' }} {{ 'only' if y }}|{{ x and not y or z }} {{ 1 < 2 < 3 }} {{ 1 == 1.0 }}", {"x": True, "y": False, "z": 0}),
    ("{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %} {{ d.get('a') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list }}", {"d": {"a": 1, "b": 2}}),
    ("[{{ d.missing }}][{{ d['missing'] }}]", {"d": {}}),
    ("{{ raise_exception('boom') }}", {}),
    ("{{ none }} {{ true }} {{ [1, 'a', none] }} {{ {'a': 1} }} {{ 1.0 }} {{ 1e20 }} {{ 0.1 + 0.2 }}", {}),
    ("{%- for m in messages -%}\n  {%- if m.role == 'user' -%}\n    U: {{ m.content }}\n  {%- endif -%}\n{%- endfor -%}", {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}),
    ("line1\n    {% if true %}\n    inner\n    {% endif %}\nline2\n", {}),
    ("{{ strftime_now('%d %b %Y') }} {{ strftime_now('%Y-%m-%d') }}", {}),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = [1, 2] %}{{ c|sum }} {{ [1,5,3]|max }} {{ [4,2]|min }}", {}),
    ("{{ items|map('upper')|join }} {{ items|select('equalto', 'a')|list }} {{ items|reject('equalto', 'a')|list }}", {"items": ["a", "b"]}),
    ("{% for x in items if x > 1 %}{{ x }}{{ loop.length }}{% endfor %}", {"items": [1, 2, 3]}),
    ("{% raw %}{{ not rendered }}{% endraw %}", {}),
    ("{# comment #}\n{{ 'after comment' }}\n  {# indented comment #}\nx", {}),
]


def main():
    env = environment()
    renderings = {}
    names = sorted(f for f in os.listdir(TEMPLATES) if f.endswith(".jinja"))
    for name in names:
        with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
            source = f.read()
        results = {}
        for case, ctx in CASES.items():
            try:
                template = env.from_string(source)
                results[case] = template.render(bos_token="<s>", eos_token="</s>", tools=ctx.get("tools"),
                                                messages=ctx["messages"],
                                                add_generation_prompt=ctx["add_generation_prompt"])
            except Exception:
                results[case] = {"error": True}
        renderings[name] = results
    features = []
    for source, ctx in FEATURES:
        try:
            features.append({"template": source, "context": ctx, "output": env.from_string(source).render(**ctx)})
        except Exception as e:
            features.append({"template": source, "context": ctx, "error": True, "message": str(e)})
    meta = {"jinja2": jinja2.__version__, "date": DATE.isoformat()}
    with open(os.path.join(OUT, "jinja2-renderings.json"), "w", encoding="utf-8") as f:
        json.dump({**meta, "cases": CASES, "renderings": renderings}, f, ensure_ascii=False, indent=1, sort_keys=False)
    with open(os.path.join(OUT, "jinja2-features.json"), "w", encoding="utf-8") as f:
        json.dump({**meta, "features": features}, f, ensure_ascii=False, indent=1)
    errors = sum(1 for r in renderings.values() for v in r.values() if isinstance(v, dict))
    print(f"{len(names)} templates × {len(CASES)} cases ({errors} raise), {len(features)} feature cases", file=sys.stderr)


if __name__ == "__main__":
    main()
