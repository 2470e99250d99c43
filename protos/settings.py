"""The vocabulary of settings both programs read, so `tailor build` and `tailor serve` take the same words.

- Booleans (config files, TAILOR_* variables, flags, input files' true/false columns): one of
  true/false, 1/0, yes/no, in any case (`BOOLEAN_WORDS`, `parse_boolean`).
- The environment layer: `TAILOR_<KEY>` for a program's top-level keys and `TAILOR_<SECTION>_<KEY>`
  for a section's (TAILOR_RANKING_SEARCH_WEIGHT, TAILOR_BUILD_DIM). A variable that starts with a
  section's prefix but names none of its keys is an error naming it and the nearest valid one, as a
  misspelled key in the config file is (`environment_values`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping

__all__ = ["TRUE_WORDS", "FALSE_WORDS", "BOOLEAN_WORDS", "ENV_PREFIX", "parse_boolean", "nearest",
           "environment_values"]

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
BOOLEAN_WORDS = TRUE_WORDS + FALSE_WORDS
ENV_PREFIX = "TAILOR_"


def parse_boolean(value: object) -> bool:
    """A bool, or one of BOOLEAN_WORDS in any case (surrounding spaces ignored); ValueError otherwise."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean ({'/'.join(BOOLEAN_WORDS)}): {value!r}")


def nearest(name: str, valid: Collection[str]) -> str:
    """' (did you mean X?)' for the closest of `valid` to a misspelled `name`, '' when none is close."""
    close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def environment_values(environ: Mapping[str, str], prefix: str, keys: Collection[str],
                       convert: Callable[[str, str, str], object], *, strict: bool = True) -> dict[str, object]:
    """The values `environ` gives the keys as `{prefix}{KEY}` variables, each passed through
    `convert(key, text, variable_name)`. `strict`: any other variable starting with `prefix` is a
    ValueError naming it and the nearest valid variable (a section's prefix; the bare TAILOR_ prefix is
    shared with other tools' variables, such as the client's TAILOR_TARGET, so it is not strict)."""
    names = {f"{prefix}{key.upper()}": key for key in keys}
    if strict:
        unknown = sorted(n for n in environ if n.startswith(prefix) and n not in names)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown environment variable{nearest(unknown[0], names)}")
    return {key: convert(key, environ[name], name) for name, key in names.items() if name in environ}
