#!/usr/bin/env python3
"""Regenerates Realms' built-in price snapshot from a LiteLLM price file.

LiteLLM maintains model_prices_and_context_window.json (its PyPI package `litellm` ships a copy as
litellm/model_prices_and_context_window_backup.json). This keeps the Anthropic and OpenAI chat
models of such a file, with the fields Realms reads, and writes them in the same format, with a
`_snapshot` entry saying where and when they came from:

    python3 app/prices/regenerate.py PATH/TO/model_prices_and_context_window.json \
        --source "litellm 1.110.2" --dated 2026-12-01

Then rebuild Realms; `cargo test -p app --features ssr price` checks that every price converts
exactly.
"""

import argparse
import datetime
import json
import pathlib
import re

PROVIDERS = {"anthropic", "openai"}
MODES = {"chat", "responses"}
FIELDS = [
    "litellm_provider",
    "mode",
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_creation_input_token_cost",
    "cache_creation_input_token_cost_above_1hr",
    "cache_read_input_token_cost",
    "search_context_cost_per_query",
    "max_input_tokens",
    "deprecation_date",
]
# The dearer prices of a request whose input passes a threshold (e.g. `_above_200k_tokens`).
LONG_CONTEXT = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_creation_input_token_cost"
    r"|cache_creation_input_token_cost_above_1hr|cache_read_input_token_cost)_above_\d+k_tokens$"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=pathlib.Path, help="a LiteLLM model_prices_and_context_window.json")
    parser.add_argument("--source", required=True, help="where the file came from, e.g. 'litellm 1.110.2'")
    parser.add_argument("--dated", default=datetime.date.today().isoformat(), help="the file's date (YYYY-MM-DD)")
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=pathlib.Path(__file__).with_name("snapshot.json"),
        help="where to write (default: app/prices/snapshot.json)",
    )
    args = parser.parse_args()
    data = json.loads(args.file.read_text())
    kept = {}
    for model_id, entry in sorted(data.items()):
        if not isinstance(entry, dict) or "/" in model_id:
            continue
        if entry.get("litellm_provider") not in PROVIDERS or entry.get("mode") not in MODES:
            continue
        if "input_cost_per_token" not in entry or "output_cost_per_token" not in entry:
            continue
        kept[model_id] = {k: v for k, v in entry.items() if k in FIELDS or LONG_CONTEXT.match(k)}
    out = {"_snapshot": {"dated": args.dated, "source": args.source}, **kept}
    args.out.write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")
    print(f"wrote {len(kept)} models to {args.out}")


if __name__ == "__main__":
    main()
