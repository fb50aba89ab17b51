"""The record type and the step base class that owns the loop."""

import pytest

from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import BATCH_SIZE, Step, chain


def test_to_dict_omits_unset_fields_and_keeps_extra_input_fields():
    record = Record("a1", text="Corps.", title="Titre", extra={"categorie": "sport", "rang": 3})
    assert record.to_dict() == {
        "id": "a1",
        "text": "Corps.",
        "title": "Titre",
        "status": "ok",
        "categorie": "sport",
        "rang": 3,
    }


def test_from_dict_round_trips_every_field():
    data = {
        "id": "a1",
        "text": "Corps.",
        "title": "Titre",
        "lang": "fr",
        "lang_score": 0.99,
        "removed": [{"rule": "source", "text": "Source : AFP"}],
        "duplicate_of": "a0",
        "status": "skipped",
        "reason": "pourquoi",
        "chunks": 2,
        "categorie": "sport",
    }
    assert Record.from_dict(data, default_id="unused").to_dict() == data


@pytest.mark.parametrize("raw_id", [None, ""])
def test_from_dict_uses_the_default_id_when_none_is_given(raw_id):
    assert Record.from_dict({"id": raw_id, "text": "x"}, default_id="file-3").id == "file-3"


def test_ids_are_strings():
    assert Record.from_dict({"id": 17, "text": "x"}, default_id="d").id == "17"


def test_mark_requires_a_reason():
    with pytest.raises(ValueError):
        Record("a").mark("skipped", "")
    with pytest.raises(ValueError):
        Record("a").mark("ok", "fine")
    assert Record("a").mark("error", "bad").reason == "bad"


class Upper(Step):
    name = "upper"

    def process(self, record):
        if record.text == "boom":
            raise RuntimeError("exploded")
        record.text = record.text.upper()


def test_a_failing_record_is_marked_and_the_stream_goes_on():
    records = [Record("1", text="a"), Record("2", text="boom"), Record("3", text="c")]
    step = Upper()
    out = list(step(records))
    assert [r.text for r in out] == ["A", "boom", "C"]
    assert [r.status for r in out] == ["ok", "error", "ok"]
    assert out[1].reason == "upper: RuntimeError: exploded"
    assert step.counts == {"error": 1}


def test_records_that_are_not_ok_pass_through_untouched():
    skipped = Record("1", text="a").mark("skipped", "empty text")
    (out,) = Upper()([skipped])
    assert (out.text, out.status, out.reason) == ("a", "skipped", "empty text")


def test_chain_is_lazy():
    seen = []

    def source():
        for i in range(1000):
            seen.append(i)
            yield Record(str(i), text="x")

    stream = chain(source(), [Upper(), Upper()])
    first = next(stream)
    assert first.text == "X"
    assert seen == list(range(BATCH_SIZE))  # one batch in flight, not the whole input
    assert [r.id for r in stream] == [str(i) for i in range(1, 1000)]


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        ({"status": "error"}, "error", "marked error in the input"),
        ({"status": "skipped", "reason": "too short"}, "skipped", "too short"),
        ({"status": "ok", "reason": "left over"}, "ok", None),
        ({"status": "weird"}, "ok", None),
    ],
)
def test_a_status_from_the_input_always_comes_with_a_reason(data, status, reason):
    record = Record.from_dict({"id": "a", "text": "x", **data}, default_id="d")
    assert (record.status, record.reason) == (status, reason)
