"""personalization_consent = false: an answer that uses nothing about the shopper, equal to an anonymous
visitor's in the same context (the product page's anchor, the filters and the candidates stay)."""

from __future__ import annotations

import pytest

from clients import Filters, TailorClient
from protos import decision_pb2 as pb
from server.api.queries import parse_recommend, parse_rerank
from server.errors import InvalidRequest
from server.runtime.config import Limits
from tests.conftest import Built
from tests.support import LOYAL_USER, NO_CONSENT_USER


def _loyal_session(built: Built) -> list[tuple[str, str]]:
    items = [i for i in built.store.items_in(built.loyal_category) if built.store.in_stock[i]]
    return [(items[-1], "view"), (items[-2], "cart")]


def test_the_parser_leaves_the_shopper_out_and_keeps_the_context() -> None:
    request = pb.RecommendRequest(
        user_id="u1", n=10, personalization_consent=False,
        session=[pb.Interaction(item_id="i1", type=pb.INTERACTION_TYPE_VIEW)],
        context=pb.Context(anchor_item_id="i9", session_id="s1", channel=pb.CHANNEL_APP),
        filters=pb.Filters(brands=["acme"]))
    query = parse_recommend(request, Limits())
    assert (query.user_id, query.session_ids, len(query.session_types), query.session_id) == ("", (), 0, "")
    assert (query.anchor_item_id, query.channel, query.filters.brands, query.consent) == (
        "i9", pb.CHANNEL_APP, frozenset({"acme"}), False)
    assert parse_recommend(pb.RecommendRequest(user_id="u1", n=1), Limits()).consent is None
    given = parse_recommend(pb.RecommendRequest(user_id="u1", n=1, personalization_consent=True), Limits())
    assert (given.user_id, given.consent) == ("u1", True)


@pytest.mark.parametrize("field", ["user_id", "session", "context.session_id"])
def test_a_malformed_shopper_field_is_still_invalid_without_consent(field: str) -> None:
    request = pb.RerankRequest(candidates=[pb.Candidate(item_id="i1")], personalization_consent=False)
    if field == "user_id":
        request.user_id = "bad id"
    elif field == "session":
        request.session.add(item_id="i1", type=pb.INTERACTION_TYPE_UNSPECIFIED)
    else:
        request.context.session_id = "bad id"
    with pytest.raises(InvalidRequest) as error:
        parse_rerank(request, Limits())
    assert error.value.field.startswith(field)


def test_recommend_without_consent_equals_the_anonymous_answer(client: TailorClient, built: Built) -> None:
    session = _loyal_session(built)
    personal = client.recommend(10, user_id=LOYAL_USER, session=session)
    # One request_id, one exploration draw: the explore slot may not depend on the shopper either.
    withheld = client.recommend(10, user_id=LOYAL_USER, session=session, personalization_consent=False,
                                request_id="consent")
    anonymous = client.recommend(10, request_id="consent")
    assert withheld.items == anonymous.items
    assert [i.item_id for i in personal.items] != [i.item_id for i in anonymous.items]  # consent matters here
    assert {r.code for i in withheld.items for r in i.reasons} <= {"popular", "explore"}


def test_a_product_page_without_consent_keeps_its_anchor_and_filters(client: TailorClient, built: Built) -> None:
    anchor = _loyal_session(built)[0][0]
    brand = built.store.brand[anchor]
    only = Filters(brands=[brand])
    withheld = client.recommend(5, user_id=LOYAL_USER, session=_loyal_session(built), personalization_consent=False,
                                page="product", anchor_item_id=anchor, filters=only, request_id="page")
    assert withheld.items == client.recommend(5, page="product", anchor_item_id=anchor, filters=only,
                                              request_id="page").items
    assert withheld.items and all(built.store.brand[i.item_id] == brand for i in withheld.items)
    assert any(r.code == "anchor_similar" for i in withheld.items for r in i.reasons)


def test_rerank_without_consent_equals_the_anonymous_answer(client: TailorClient, built: Built) -> None:
    candidates = [(item, 1.0) for item in list(built.store.category)[:40]]
    withheld = client.rerank(candidates, user_id=LOYAL_USER, session=_loyal_session(built),
                             personalization_consent=False)
    assert withheld.items == client.rerank(candidates).items
    personal = client.rerank(candidates, user_id=LOYAL_USER)
    assert [i.item_id for i in personal.items] != [i.item_id for i in withheld.items]


def test_consent_given_in_the_request_does_not_override_a_stored_no(client: TailorClient) -> None:
    """`true` personalizes only as far as the stored consent allows: a shopper recorded without consent
    has nothing kept to personalize with."""
    assert client.recommend(10, user_id=NO_CONSENT_USER, personalization_consent=True, request_id="no").items == \
        client.recommend(10, request_id="no").items
