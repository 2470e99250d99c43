"""Enum words come from decision_pb2 and are exactly the strings the code used when they were copied by hand,
so the artifact's channel codes, the manifest's event weights and the rules' words keep their meaning."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from index_builder.demo import vocabulary
from protos import artifact, enums
from server.merchandising import schema as rulebook
from server.runtime import snapshot


def test_the_words_are_what_they_were() -> None:
    assert artifact.CHANNELS == ("unknown", "web", "app", "email", "store")
    assert vocabulary.CHANNELS == ("web", "app", "email", "store")
    assert rulebook.PAGES == ("unknown", "home", "product", "cart", "search")
    assert artifact.EVENT_TYPES == ("view", "cart", "purchase")
    assert snapshot._EVENT_TYPE == {1: "view", 2: "cart", 3: "purchase"}


def _enum(numbers: list[int]) -> EnumTypeWrapper:
    file = descriptor_pb2.FileDescriptorProto(name="gaps.proto", package="gaps")
    enum = file.enum_type.add(name="Colour")
    for number in numbers:
        enum.value.add(name=f"COLOUR_V{number}", number=number)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return EnumTypeWrapper(pool.FindEnumTypeByName("gaps.Colour"))


def test_words_follow_the_value_numbers_and_refuse_gaps() -> None:
    assert enums.enum_words(_enum([0, 2, 1]), "COLOUR_") == ("unknown", "v1", "v2")
    with pytest.raises(ValueError, match="Colour: values must be numbered 0..n-1"):
        enums.enum_words(_enum([0, 1, 3]), "COLOUR_")
