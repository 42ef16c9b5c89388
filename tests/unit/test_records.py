"""Record types are declared once: their Parquet schemas come from the dataclasses."""

import dataclasses
from typing import Any

import pyarrow as pa
import pytest

from schoolhouse.datasets.records import (
    REJECTED_STORY_SCHEMA,
    SAMPLING_TYPE,
    STEERING_TYPE,
    STORY_SCHEMA,
    Annotation,
    CodeExercise,
    Story,
    Textbook,
    rejected_only,
    schema_of,
)
from schoolhouse.teacher.base import Sampling


@pytest.mark.parametrize("cls", [Story, Textbook, CodeExercise, Annotation])
def test_every_field_is_a_column_in_order_and_rejected_only_ones_only_when_rejected(cls):
    names = [f.name for f in dataclasses.fields(cls)]
    only = [f.name for f in dataclasses.fields(cls) if f.metadata.get("rejected_only")]
    assert only and only == names[-len(only) :] and "reason" in only
    assert schema_of(cls).names == names[: -len(only)]
    assert schema_of(cls, rejected=True).names == names


def test_types_follow_the_annotations():
    assert STORY_SCHEMA.field("index").type == pa.int64()
    assert STORY_SCHEMA.field("features").type == pa.list_(pa.string())
    assert STORY_SCHEMA.field("steering").type == STEERING_TYPE
    assert STORY_SCHEMA.field("sampling").type == SAMPLING_TYPE
    assert REJECTED_STORY_SCHEMA.field("reason").type == pa.string()
    assert schema_of(Annotation).field("score_probs").type == pa.list_(pa.float64())
    # the sampling column holds what the teacher's Sampling records, no more, no less
    assert SAMPLING_TYPE.names == [f.name for f in dataclasses.fields(Sampling)]


def test_a_field_without_an_arrow_type_is_named():
    @dataclasses.dataclass(kw_only=True)
    class Odd:
        id: str
        blob: dict[str, Any]
        reason: str | None = rejected_only()

    with pytest.raises(TypeError, match="Odd.blob: no Arrow type"):
        schema_of(Odd)


def test_rows_round_trip_through_their_schema():
    story = Story(id="a", index=0, text="t", prompt="p", words={"noun": "cat", "verb": "run",
                  "adjective": "red"}, features=[], template="story", template_sha="s",
                  teacher="x", sampling=Sampling(seed=1).to_dict(), seed=0, prompt_tokens=1,
                  completion_tokens=2, finish_reason="stop")  # fmt: skip
    table = pa.Table.from_pylist([story.to_row()], STORY_SCHEMA)
    assert table.to_pylist()[0]["sampling"]["seed"] == 1 and "reason" not in table.column_names
