"""Realistic merchandising rules for `tailor bench --generate-rules N` (docs/rules.md, docs/benchmarks.md).

Drawn from ROOT/current's catalog, so every name exists: boosts and buries of a category, a brand,
a campaign's items or a category's cheaper items (some for a channel or segment), exclusions of
small brands, pins on the home page, caps per brand and category on the home and product pages, and
include_only rules for search queries. Most hold for every bench request (the bench's calls carry no
search text, so the query rules do not): the point is what applying many rules at once costs.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from protos import artifact

__all__ = ["bench_rules"]

_SEGMENTS = ("champions", "loyal", "potential loyalists", "at risk", "new")


def _line(key: str, value: object) -> str:
    if isinstance(value, bool):
        return f"{key} = {str(value).lower()}"
    if isinstance(value, str):
        return f'{key} = "{value}"'
    if isinstance(value, list):
        return f"{key} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]"
    return f"{key} = {value}"


def _rule(name: str, **keys: object) -> str:
    return "\n".join(["[[rule]]", _line("name", name), *(_line(k, v) for k, v in keys.items())]) + "\n"


def bench_rules(root: Path, count: int = 50, seed: int = 7) -> str:
    """`count` rules (TOML text) over ROOT/current's catalog."""
    version = artifact.resolve_current(root)
    manifest = artifact.read_manifest(version)
    ids = np.load(version / artifact.ITEM_ARRAYS["ids"].file, mmap_mode="r")
    popular = np.load(version / artifact.ITEM_ARRAYS["popular_rows"].file, mmap_mode="r")
    rng = random.Random(seed)
    categories, brands = list(manifest.categories), list(manifest.brands)
    out = ["max_slot = 10\n"]
    kinds = ["boost", "bury", "boost", "exclude", "cap", "boost", "bury", "pin", "boost", "include_only"]
    pin_slot = 0
    for i in range(count):
        kind = kinds[i % len(kinds)]
        name = f"bench-{kind}-{i}"
        when: dict[str, object] = {}
        if i % 3 == 1:
            when["channel"] = ["web", "app"]
        if i % 7 == 2:
            when["segment"] = rng.sample(_SEGMENTS, 2)
        if kind in ("boost", "bury"):
            campaign = [bytes(ids[int(popular[rng.randrange(min(len(popular), 500))])]).decode() for _ in range(10)]
            target: dict[str, object] = rng.choice([{"category": rng.choice(categories)},
                                                    {"brand": rng.choice(brands)},
                                                    {"items": sorted(set(campaign))},
                                                    {"category": rng.choice(categories), "price_max": 100}])
            factor = round(rng.uniform(1.2, 3.0), 2) if kind == "boost" else round(rng.uniform(0.3, 0.8), 2)
            out.append(_rule(name, **when, **target, **{kind: factor}))
        elif kind == "exclude":
            out.append(_rule(name, **when, brand=rng.choice(brands), exclude=True))
        elif kind == "cap":  # variety on recommendation pages: per brand on home, per category on product pages
            page, per = rng.choice([("home", "brand"), ("product", "category"), ("home", "category")])
            out.append(_rule(name, page=page, cap=3, per=per))
        elif kind == "pin":
            pin_slot += 1
            item = bytes(ids[int(popular[rng.randrange(min(len(popular), 200))])]).decode()
            out.append(_rule(name, page="home", pin=item, slot=pin_slot))
        else:
            out.append(_rule(name, query_contains=rng.choice(categories), category=rng.choice(categories),
                             include_only=True))
    return "\n".join(out)
