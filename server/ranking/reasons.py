"""Reason codes: the proto enum, one table of texts, and bit masks for ranking arrays.

Ranking carries an item's reasons as one integer (bit `code` set per reason), so a request's
reasons are an array like its rows and scores; the response encoder turns a mask into the
Reason messages, in enum order, once per distinct mask.
"""

from __future__ import annotations

import functools

import numpy as np

from protos import decision_pb2 as pb

__all__ = ["SEARCH_RELEVANCE", "ANCHOR_SIMILAR", "SESSION_SIMILAR", "USER_AFFINITY", "POPULAR", "UNKNOWN_ITEM",
           "BUY_AGAIN", "BRAND_AFFINITY", "CATEGORY_AFFINITY", "PRICE_FIT", "SEGMENT_POPULAR", "FRESH",
           "BOUGHT_TOGETHER", "VIEWED_TOGETHER", "RULE", "EXPLORE", "NAMED", "ANCHORED", "TEXT", "MASK_DTYPE",
           "bit", "name", "codes_of", "messages"]

SEARCH_RELEVANCE = pb.REASON_CODE_SEARCH_RELEVANCE
ANCHOR_SIMILAR = pb.REASON_CODE_ANCHOR_SIMILAR
SESSION_SIMILAR = pb.REASON_CODE_SESSION_SIMILAR
USER_AFFINITY = pb.REASON_CODE_USER_AFFINITY
POPULAR = pb.REASON_CODE_POPULAR
UNKNOWN_ITEM = pb.REASON_CODE_UNKNOWN_ITEM
BUY_AGAIN = pb.REASON_CODE_BUY_AGAIN
BRAND_AFFINITY = pb.REASON_CODE_BRAND_AFFINITY
CATEGORY_AFFINITY = pb.REASON_CODE_CATEGORY_AFFINITY
PRICE_FIT = pb.REASON_CODE_PRICE_FIT
SEGMENT_POPULAR = pb.REASON_CODE_SEGMENT_POPULAR
FRESH = pb.REASON_CODE_FRESH
BOUGHT_TOGETHER = pb.REASON_CODE_BOUGHT_TOGETHER
VIEWED_TOGETHER = pb.REASON_CODE_VIEWED_TOGETHER
RULE = pb.REASON_CODE_RULE
EXPLORE = pb.REASON_CODE_EXPLORE

TEXT: dict[int, str] = {
    SEARCH_RELEVANCE: "Relevant to the search",
    ANCHOR_SIMILAR: "Similar to the product on this page",
    SESSION_SIMILAR: "Similar to what this visitor looked at",
    USER_AFFINITY: "Matches this shopper's tastes",
    POPULAR: "Popular right now",
    UNKNOWN_ITEM: "Not in Tailor's catalog; kept at its search position",
    BUY_AGAIN: "Time to restock?",
    BRAND_AFFINITY: "A brand you buy often: {brand}",
    CATEGORY_AFFINITY: "One of your favourite categories: {category}",
    PRICE_FIT: "In your usual price range",
    SEGMENT_POPULAR: "Popular with shoppers like you",
    FRESH: "New arrival",
    BOUGHT_TOGETHER: "Often bought with {anchor}",
    VIEWED_TOGETHER: "Often viewed with {anchor}",
    RULE: "Placed by a merchandiser's rule",
    EXPLORE: "Something different: {category}",
}
MASK_DTYPE = np.uint32
_PREFIX = "REASON_CODE_"


def bit(*codes: int) -> int:
    """The mask with each of `codes` set."""
    mask = 0
    for code in codes:
        mask |= 1 << code
    return mask


# Reasons whose text names the item it complements (the cart or page item it goes with).
ANCHORED = bit(BOUGHT_TOGETHER, VIEWED_TOGETHER)
# Reasons whose text names something: the item's brand or category, or the item it goes with (`messages`).
NAMED = bit(BRAND_AFFINITY, CATEGORY_AFFINITY, EXPLORE) | ANCHORED


def name(code: int) -> str:
    """The stable text code of an enum value, e.g. "user_affinity"."""
    return pb.ReasonCode.Name(code).removeprefix(_PREFIX).lower()


def codes_of(mask: int) -> tuple[int, ...]:
    """The codes set in `mask`, in enum order."""
    return tuple(code for code in TEXT if mask >> code & 1)


@functools.lru_cache(maxsize=4096)
def messages(mask: int, category: str = "", brand: str = "", anchor: str = "", rule: str = "",
             rule_text: str = "") -> list[pb.Reason]:
    """The Reason messages of one mask, built once per distinct (mask, category, brand, anchor, rule) while it
    is among the most recent ones (the names are given only for masks with a reason that names them, NAMED;
    `anchor` is the title or id of the item a complement goes with; a catalog's categories x brands x
    items can be many, so the cache is bounded). `rule` names the merchandising rule of a RULE reason and
    `rule_text` is its text ("Promoted: spring-coats")."""
    return [pb.Reason(code=name(code), kind=code,  # type: ignore[arg-type]
                      text=rule_text if code == RULE and rule_text else
                      TEXT[code].format(category=category, brand=brand, anchor=anchor),
                      rule=rule if code == RULE else "") for code in codes_of(mask)]
