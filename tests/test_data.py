"""The one check of user data: reserved keys, NUL characters, nesting depth."""

from __future__ import annotations

import pytest

from engine.data import MAX_DEPTH, check_user_data
from engine.errors import ValidationFailed


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("data", [
    {}, {"a": 1, "b": [1, "x", {"c": None}]}, {"a": nested(MAX_DEPTH - 1)}, "plain",
])
def test_ordinary_data_passes(data):
    check_user_data(data)


@pytest.mark.parametrize(("data", "where"), [
    ({"x": {"typename": "BpmnWorkflow"}}, "data.x.typename"),
    ({"x": ["ok", "a\x00b"]}, "data.x[1]"),
    ({"x\x00": 1}, "data"),
    ({"a": nested(MAX_DEPTH + 5)}, None),
    ({"a": nested(100_000)}, None),
])
def test_faults_are_named(data, where):
    with pytest.raises(ValidationFailed) as failure:
        check_user_data(data)
    if where is not None:
        assert where in failure.value.details


def test_request_bodies_may_use_reserved_keys_outside_data():
    check_user_data({"typename": "x"}, "body", reserved_keys=False)
    with pytest.raises(ValidationFailed):
        check_user_data({"typename": "x"}, "body")
