"""Python's jinja2 set up exactly as transformers renders chat templates, and
as lm-evaluation-harness renders task templates: the reference Enclave's
Jinja engine (src/jinja) is compared against, byte for byte.

render_like_transformers(template, messages, tools=None, add_generation_prompt=False, **kwargs)
    returns what tokenizer.apply_chat_template(messages, tools=tools,
    add_generation_prompt=..., tokenize=False, **kwargs) returns for a
    tokenizer whose chat_template is `template`: the environment of
    transformers.utils.chat_template_utils._compile_jinja_template
    (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loop
    controls, the generation-block extension, its tojson, raise_exception,
    strftime_now) rendered with messages, tools, documents,
    add_generation_prompt and the extra keyword arguments. Passing the
    special tokens (bos_token, eos_token, ...) is the caller's job, as
    transformers passes them from tokenizer_config.json.

Only the standard library and jinja2 (Debian's python3-jinja2) are used.
"""

import datetime
import json
import re

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

# The clock strftime_now reads; tests pin it so both engines agree.
PINNED_NOW = datetime.datetime(2024, 7, 26, 14, 5, 9)


class GenerationTracker(jinja2.ext.Extension):
    """transformers' AssistantTracker: `{% generation %}...{% endgeneration %}`
    renders its body and records the span (character offsets)."""

    tags = {"generation"}

    def __init__(self, environment):
        super().__init__(environment)
        environment.extend(generation_spans=[])
        self._rendered = None

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render_generation"), [], [], body).set_lineno(lineno)

    def _render_generation(self, caller):
        return caller()


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' own tojson filter (chat_template_utils.py).
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def chat_environment(now=PINNED_NOW):
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTracker, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = lambda fmt: now.strftime(fmt)
    return env


def _regex_replace(string, pattern, repl, count=0):
    # lm-evaluation-harness's filter (lm_eval/utils.py).
    return re.sub(pattern, repl, string, count=count)


def lm_eval_environment():
    # lm-evaluation-harness (lm_eval/utils.py): Environment(loader=BaseLoader,
    # undefined=StrictUndefined, keep_trailing_newline=True) with regex_replace.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["regex_replace"] = _regex_replace
    return env


def render_like_transformers(template, messages, tools=None, add_generation_prompt=False, now=PINNED_NOW, **kwargs):
    compiled = chat_environment(now).from_string(template)
    return compiled.render(
        messages=messages, tools=tools, documents=None, add_generation_prompt=add_generation_prompt, **kwargs
    )


def special_tokens(tokenizer_config):
    """The special-token texts transformers passes to every render, from a
    tokenizer_config.json dict (a string, or an AddedToken's "content")."""
    out = {}
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        value = tokenizer_config.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            out[key] = value
    return out


def render_chat_context(template, context, now=PINNED_NOW):
    """Renders with an explicit variable dict (what jinja_render --chat takes)."""
    return chat_environment(now).from_string(template).render(**context)


def render_plain(template, context):
    """jinja2's defaults (what jinja_render without flags uses), sandboxed."""
    return ImmutableSandboxedEnvironment().from_string(template).render(**context)


def render_lm_eval(template, context):
    return lm_eval_environment().from_string(template).render(**context)
