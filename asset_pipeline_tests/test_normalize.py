"""Records are validated with a reason, and fingerprints are stable and change-sensitive."""

import pytest

from asset_pipeline.connectors.base import AssetRecord
from asset_pipeline.pipeline.normalize import RejectedRecord, normalize

TABLE = AssetRecord("db.s.t", "table", "t", "db", "s", "db.s", None, 10, {"b": 1, "a": [1, 2]})


def test_fingerprint_is_stable_and_ignores_property_order() -> None:
    reordered = TABLE._replace(properties={"a": [1, 2], "b": 1})
    assert normalize(TABLE)[-1] == normalize(reordered)[-1]
    assert normalize(TABLE)[8] == '{"a":[1,2],"b":1}'


@pytest.mark.parametrize("field,value", [
    ("row_count", 11), ("properties", {"b": 2, "a": [1, 2]}), ("type", "view"), ("parent", "x"),
])
def test_fingerprint_changes_with_the_description(field: str, value: object) -> None:
    assert normalize(TABLE)[-1] != normalize(TABLE._replace(**{field: value}))[-1]


@pytest.mark.parametrize("record,reason", [
    (TABLE._replace(qualified_name=""), "qualified_name is empty"),
    (TABLE._replace(type="cube"), "unknown asset type 'cube'"),
    (TABLE._replace(name=None), "name is empty"),
    (TABLE._replace(row_count=-1), "row_count must be a non-negative integer"),
    (TABLE._replace(size_bytes=True), "size_bytes must be a non-negative integer"),
    (TABLE._replace(catalog=5), "catalog must be text"),
    (TABLE._replace(qualified_name="a\x00b"), "NUL"),
    (TABLE._replace(qualified_name="x" * 2001), "longer than 2000"),
    (TABLE._replace(properties={"t": object()}), "properties are not JSON"),
    (TABLE._replace(properties={"x": float("nan")}), "properties are not JSON"),
    (("db.s.t", "table"), "not an AssetRecord"),
])
def test_bad_records_are_rejected_with_a_reason(record: object, reason: str) -> None:
    with pytest.raises(RejectedRecord, match=reason.replace("(", r"\(")):
        normalize(record)


def test_empty_optional_text_is_stored_as_null() -> None:
    row = normalize(TABLE._replace(catalog="", properties={}))
    assert row[3] is None and row[8] is None
