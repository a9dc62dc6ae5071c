import pytest
import torch

from rnnbook.batching import PaddedBatches, StreamBatches


def test_stream_rows_continue_across_batches():
    ids = torch.arange(103)
    sb = StreamBatches(ids, batch_size=4, seq_len=5)
    batches = list(sb)
    assert len(batches) == len(sb) == 5  # 25 columns per row -> 24 targets -> 5 batches
    x = torch.cat([b[0] for b in batches], dim=1)
    y = torch.cat([b[1] for b in batches], dim=1)
    # every row is one contiguous piece of the stream, and targets are inputs shifted by one
    assert torch.equal(x, torch.arange(100).view(4, 25)[:, :24])
    assert torch.equal(y, x + 1)
    assert sb.tokens == 4 * 24
    assert batches[-1][0].shape == (4, 4)


def test_stream_too_short_is_clear():
    with pytest.raises(ValueError, match="too short"):
        StreamBatches(torch.arange(5), batch_size=4, seq_len=2)


def test_padded_batches_cover_every_example_once():
    examples = [([1] * n, n) for n in range(1, 12)]
    pb = PaddedBatches(examples, batch_size=4, seed=1, sort_by_length=True)
    seen = []
    for x, lengths, y in pb:
        assert x.shape == (len(y), int(lengths.max()))
        assert torch.equal(lengths, y)  # label is the length here
        assert ((x != 0).sum(1) == lengths).all()
        seen += y.tolist()
    assert sorted(seen) == list(range(1, 12)) and len(pb) == 3


def test_padded_batches_shuffle_differs_between_passes_but_is_seeded():
    examples = [([i + 1], i) for i in range(20)]
    a = PaddedBatches(examples, batch_size=20, seed=0)
    first, second = [next(iter(a))[2].tolist() for _ in range(2)]
    assert first != second
    b = PaddedBatches(examples, batch_size=20, seed=0)
    assert next(iter(b))[2].tolist() == first


def test_padded_batches_reject_empty_data():
    with pytest.raises(ValueError, match="empty"):
        PaddedBatches([], batch_size=2)


def test_batches_are_named_tuples_that_still_unpack():
    from rnnbook.batching import LMBatch, PaddedBatch

    batch = next(iter(StreamBatches(torch.arange(103), batch_size=4, seq_len=5)))
    assert isinstance(batch, LMBatch) and torch.equal(batch.y, batch.x + 1)
    x, y = batch
    assert x is batch.x and y is batch.y
    padded = next(iter(PaddedBatches([([1, 2], 0), ([3], 1)], batch_size=2, shuffle=False)))
    assert isinstance(padded, PaddedBatch)
    x, lengths, y = padded
    assert padded.lengths.tolist() == [2, 1] and padded.y.tolist() == [0, 1]
    assert torch.equal(x, torch.tensor([[1, 2], [3, 0]]))


def _labels(batches):
    return [b.y.tolist() for b in batches]


@pytest.mark.parametrize("consumed", [0, 2, 3, 5])  # 3 batches per pass: 3 is a pass boundary
def test_padded_batches_state_replays_the_pass_in_progress(consumed):
    examples = [([i + 1], i) for i in range(9)]
    a = PaddedBatches(examples, batch_size=3, seed=4)
    straight = _labels(b for _ in range(3) for b in a)  # three passes
    a = PaddedBatches(examples, batch_size=3, seed=4)
    it = (b for _ in range(3) for b in a)
    for _ in range(consumed):
        next(it)
    state = a.state_dict()
    assert state["position"] == consumed % 3 and state["generator"].dtype == torch.uint8
    b = PaddedBatches(examples, batch_size=3, seed=99)
    b.load_state_dict(state)
    # as rnnbook.train does: replay the pass in progress, skipping the batches already used
    resumed = _labels(b)[state["position"]:] + _labels(b)
    assert resumed == straight[consumed:consumed + len(resumed)]
    assert len(resumed) >= 3


@pytest.mark.parametrize("ids", [torch.tensor([0.0, 1.7, 2.0, 3.0] * 4), [0.5, 1.0, 2.0] * 5,
                                 torch.ones(12, dtype=torch.bool)])
def test_stream_batches_refuse_ids_that_are_not_integers(ids):
    with pytest.raises(TypeError, match="must be integers"):
        StreamBatches(ids, 2, 3)


def shipped_batchers():
    """Every class of the package named ``...Batches`` or ``...Batcher``, found by importing
    each module, so that a new batcher is checked without being listed here."""
    import importlib
    import inspect
    import pkgutil

    import rnnbook

    found = {}
    for info in pkgutil.walk_packages(rnnbook.__path__, "rnnbook."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name and name.endswith(("Batches", "Batcher")) \
                    and name != "Batcher":
                found[name] = cls
    return found


# endless streams of fresh batches: a pass never ends, so there is no len()
ENDLESS = {"AddingBatches"}


def test_every_shipped_batcher_follows_the_protocol():
    from rnnbook.batching import Batcher

    found = shipped_batchers()
    assert {"PaddedBatches", "StreamBatches", "FrameBatches", "ShuffledBatches",
            "SessionParallelBatches", "TaggedBatches"} <= set(found)
    lacking = {name: [m for m in ("__iter__", "__len__", "state_dict", "load_state_dict")
                      if not callable(getattr(cls, m, None))]
               for name, cls in found.items() if not issubclass(cls, Batcher)}
    assert set(lacking) <= ENDLESS, f"batchers that lack part of the protocol: {lacking}"
    assert all(missing == ["__len__"] for missing in lacking.values()), lacking
    assert isinstance(PaddedBatches([([1, 2], 0)], 1), Batcher)
    assert isinstance(StreamBatches(torch.arange(10), 2, 2), Batcher)
    assert not isinstance([1, 2], Batcher)          # a list of batches is no batcher
