"""The run's shards: the cleaned stream cut into shards, the next one cleaned ahead."""

from __future__ import annotations

from newsum.pipeline.core.record import Record
from newsum.pipeline.job.run import Shards


def stream(n: int, pulled: list[str]):
    for i in range(n):
        pulled.append(f"r{i}")  # what cleaning has done so far
        yield Record(id=f"r{i}", text="Texte.")


def ids(shard: list[Record]) -> list[str]:
    return [record.id for record in shard]


def test_shards_are_the_stream_cut_in_order():
    pulled: list[str] = []
    assert [ids(shard) for shard in Shards(stream(7, pulled), 3)] == [
        ["r0", "r1", "r2"],
        ["r3", "r4", "r5"],
        ["r6"],
    ]
    assert list(Shards(stream(0, []), 3)) == []


def test_the_next_shard_is_cleaned_ahead_a_record_at_a_time_and_no_further():
    pulled: list[str] = []
    shards = Shards(stream(7, pulled), 3)
    it = iter(shards)
    assert ids(next(it)) == ["r0", "r1", "r2"] and len(pulled) == 3
    # While the first shard is generated: one record at a time, up to one shard ahead.
    assert shards.clean_ahead() and pulled[-1] == "r3"
    while shards.clean_ahead():
        pass
    assert len(pulled) == 6 and not shards.clean_ahead()
    assert ids(next(it)) == ["r3", "r4", "r5"]
    assert shards.clean_ahead() and not shards.clean_ahead()  # the input has ended
    assert ids(next(it)) == ["r6"]
    assert next(it, None) is None
