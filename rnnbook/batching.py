"""Mini-batches: a token stream for truncated BPTT, and padded batches of variable length.

**The batcher protocol** (:class:`Batcher`), which :func:`rnnbook.train` relies on to count
passes and to resume a run exactly:

- iterating a batcher is one *pass* over the data; iterating again starts the next pass
  (with a new shuffle, if it shuffles);
- ``len()`` is the number of batches of a pass (the coming one, if passes differ; an endless
  stream has none, and :func:`rnnbook.train` then needs ``steps``);
- ``state_dict()`` returns tensors and plain values (a checkpoint holds them) from which
  ``load_state_dict(state)`` restores what the next iteration draws: for a random batcher,
  its generator's state at the start of the pass in progress (the next iteration replays that
  pass), and ``position``, how many batches of that pass were handed out (0 when the pass is
  over: the next iteration is the next pass);
- the batcher does not skip anything itself: the caller (:func:`rnnbook.train`) skips the
  first ``position`` batches of the replayed pass, those it already trained on.

A batcher without randomness (:class:`StreamBatches`) returns an empty state. A random one
inherits the bookkeeping from :class:`ReplayablePasses` (as :class:`PaddedBatches`,
``tasks.forecast.ShuffledBatches`` and ``sessions.SessionParallelBatches`` do); a batcher of
padded examples with more to its batches subclasses :class:`PaddedBatches` and keeps its
order (``tasks.tagging.TaggedBatches``, ``tasks.speech.FrameBatches``). A checkpointed run on
data that has neither these methods nor is a list/tuple of batches is refused. A batcher
with a ``set_epoch(epoch)`` (as PyTorch's samplers have) is told the pass's number by whoever
iterates it; none of the book's needs one.
"""

from __future__ import annotations

from typing import (
    Any,
    Callable,
    Iterable,
    Iterator,
    NamedTuple,
    Optional,
    Protocol,
    Sequence,
    runtime_checkable,
)

import torch

from .text import pad


@runtime_checkable
class Batcher(Protocol):
    """What :func:`rnnbook.train` needs of its training data beyond a list of batches (the
    protocol above): passes by iteration, their length, and a state to resume from.
    ``isinstance(obj, Batcher)`` checks that the four methods are there."""

    def __iter__(self) -> Iterator[Any]:
        """One pass over the data (the next shuffle, if it shuffles)."""
        ...

    def __len__(self) -> int:
        """The number of batches of a pass."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain values from which :meth:`load_state_dict` restores what the next
        iteration draws (``{}`` for a batcher without randomness)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        ...


class LMBatch(NamedTuple):
    """A language-model batch: inputs ``x`` and next-token targets ``y``, both ``(B, T)``."""

    x: torch.Tensor
    y: torch.Tensor


class PaddedBatch(NamedTuple):
    """Padded examples ``x`` ``(B, T)``, their true ``lengths`` ``(B,)`` and labels ``y``
    (``(B,)`` for classification, ``(B, T)`` padded with -100 for tagging)."""

    x: torch.Tensor
    lengths: torch.Tensor
    y: torch.Tensor


class StreamBatches:
    """Cut one long token stream into a ``(batch_size, seq_len)`` grid for truncated BPTT.

    The stream is split into ``batch_size`` contiguous rows; batch ``k`` holds columns
    ``k*seq_len .. (k+1)*seq_len - 1`` of every row and the targets are the same columns
    shifted by one. So row ``b`` of batch ``k+1`` continues row ``b`` of batch ``k``, and a
    recurrent state carried from one batch to the next is the state of the same text.

    Iterating yields :class:`LMBatch` ``(x, y)``, both ``(batch_size, seq_len)`` int64 (the last
    batch may be shorter in time). ``len()`` is the number of batches per pass.
    """

    def __init__(self, ids: Sequence[int] | torch.Tensor, batch_size: int, seq_len: int):
        given = torch.as_tensor(ids)
        if given.is_floating_point() or given.is_complex() or given.dtype == torch.bool:
            raise TypeError(f"token ids must be integers, got a stream of dtype {given.dtype}; "
                            "encode the text with a Vocab (ids are int64)")
        ids = given.to(torch.long).flatten()
        if batch_size < 1 or seq_len < 1:
            raise ValueError(
                f"batch_size and seq_len must be positive, got {batch_size}, {seq_len}")
        per_row = len(ids) // batch_size
        if per_row < 2:
            raise ValueError(f"a stream of {len(ids)} tokens is too short for {batch_size} rows; "
                             "use a smaller batch_size or more text")
        self.data = ids[: per_row * batch_size].view(batch_size, per_row)
        self.batch_size, self.seq_len = batch_size, seq_len

    def __len__(self) -> int:
        return -(-(self.data.size(1) - 1) // self.seq_len)

    @property
    def tokens(self) -> int:
        """Number of target tokens in one pass."""
        return self.batch_size * (self.data.size(1) - 1)

    def state_dict(self) -> dict[str, Any]:
        """``{}``: every pass is the same, nothing to save (the batcher protocol above)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore: every pass is the same."""

    def __iter__(self) -> Iterator[LMBatch]:
        last = self.data.size(1) - 1
        for start in range(0, last, self.seq_len):
            stop = min(start + self.seq_len, last)
            yield LMBatch(self.data[:, start:stop], self.data[:, start + 1: stop + 1])


class ReplayablePasses:
    """The resume bookkeeping of a batcher that shuffles with a ``torch.Generator``.

    A subclass calls :meth:`_begin_pass` with the generator's state from which a pass is drawn
    and the pass's number of batches, and :meth:`_handed_out` after each batch it yields;
    :meth:`_pass_state` is then its ``state_dict()``, given the state the *next* pass would be
    drawn from. Restoring is the subclass's (it knows its generator); it calls
    :meth:`_forget_pass`.
    """

    _pass: Optional[dict[str, Any]] = None   # start state, batches, batches handed out

    def _begin_pass(self, start: torch.Tensor, batches: int) -> None:
        self._pass = {"start": start, "batches": batches, "position": 0}

    def _handed_out(self) -> None:
        self._pass["position"] += 1          # type: ignore[index]

    def _pass_state(self, upcoming: torch.Tensor) -> dict[str, Any]:
        """``{"generator": ByteTensor, "position": int}``: the state of the pass in progress
        (``position`` of its batches handed out) or, when none is, ``upcoming`` and 0."""
        p = self._pass
        if p is not None and 0 < p["position"] < p["batches"]:
            return {"generator": p["start"].clone(), "position": p["position"]}
        return {"generator": upcoming, "position": 0}

    def _forget_pass(self) -> None:
        self._pass = None


class PaddedBatches(ReplayablePasses):
    """Shuffled mini-batches of ``(ids, label)`` examples, padded, with their lengths.

    Yields :class:`PaddedBatch` ``(x, lengths, y)`` as :func:`rnnbook.text.pad_collate` builds
    them. With ``sort_by_length`` the examples of each batch are drawn from a pool of similar
    lengths, so little compute is spent on padding. A new shuffle per pass, reproducible from
    ``seed``.

    :meth:`state_dict` / :meth:`load_state_dict` save and restore the shuffle, so that a resumed
    run sees the same batches: the state is the generator's state at the start of the current
    pass (which the next iteration replays) and ``position``, the batches of that pass already
    consumed. The batcher does not skip them itself: :func:`rnnbook.train` skips the batches of
    the pass that it has already trained on.
    """

    def __init__(
        self,
        examples: Sequence[tuple[Sequence[int], object]],
        batch_size: int,
        pad_id: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        sort_by_length: bool = False,
        drop_last: bool = False,
    ):
        if len(examples) == 0:
            raise ValueError("no examples to batch: the data set is empty")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.examples = examples
        self.batch_size, self.pad_id = batch_size, pad_id
        self.shuffle, self.sort_by_length, self.drop_last = shuffle, sort_by_length, drop_last
        self._generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.examples)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> list[list[int]]:
        n = len(self.examples)
        order = torch.randperm(n, generator=self._generator).tolist() if self.shuffle \
            else list(range(n))
        if self.sort_by_length:
            pool = self.batch_size * 50
            order = [i for s in range(0, n, pool)
                     for i in sorted(order[s:s + pool], key=lambda j: len(self.examples[j][0]))]
        batches = [order[s:s + self.batch_size] for s in range(0, n, self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle and self.sort_by_length:
            perm = torch.randperm(len(batches), generator=self._generator).tolist()
            batches = [batches[i] for i in perm]
        return batches

    def _batches(self) -> Iterator[list[int]]:
        """The example indices of each batch of one pass, counting the batches handed out."""
        start = self._generator.get_state()
        batches = self._order()
        self._begin_pass(start, len(batches))
        for idx in batches:
            self._handed_out()
            yield idx

    def state_dict(self) -> dict[str, Any]:
        """``{"generator": ByteTensor, "position": int}``: the generator state from which the
        next iteration draws the shuffle of the pass in progress (or of the next pass, when none
        is in progress), and how many batches of that pass were already handed out."""
        return self._pass_state(self._generator.get_state())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`: the next iteration replays the saved pass from its
        start (skipping its first ``position`` batches is the caller's job)."""
        self._generator.set_state(state["generator"])
        self._forget_pass()

    def __iter__(self) -> Iterator[PaddedBatch]:
        from .text import pad_collate

        collate = pad_collate(self.pad_id)
        for idx in self._batches():
            yield PaddedBatch(*collate([self.examples[i] for i in idx]))


def passes(data: Iterable, epochs: Optional[int], start: tuple[int, int], place: dict[str, int],
           new_pass: Callable[[bool], None]) -> Iterator[Any]:
    """The batches of ``data``, pass after pass (``epochs`` passes, or forever), from ``start``
    = ``(epoch, skip)``: a resumed run skips the first ``skip`` batches of pass ``epoch``, those
    it already trained on. ``place`` is kept at ``{"epoch": e, "position": k}``, the batches of
    pass ``e`` handed out (what :func:`rnnbook.train` checkpoints). ``new_pass(resumed)`` is
    called at the start of every pass, ``resumed`` telling the pass that skips batches.
    A one-shot iterator serves one pass; empty data is a :class:`ValueError`."""
    epoch, skip = start
    first = epoch
    one_shot = iter(data) is data
    while epochs is None or epoch < epochs:
        if one_shot and epoch > first:
            raise ValueError(
                "the training data is a one-shot iterator (a generator?) and it ran out after "
                "one pass, before the run was done; pass a re-iterable such as a list or a "
                "batcher (StreamBatches, PaddedBatches), or fewer steps")
        new_pass(epoch == first and skip > 0)
        empty = True
        for i, batch in enumerate(data):
            empty = False
            if epoch == first and i < skip:
                continue
            place.update(epoch=epoch, position=i + 1)
            yield batch
        if empty:
            raise ValueError("the training data yielded no batches: it is empty")
        epoch += 1


__all__ = ["Batcher", "LMBatch", "PaddedBatch", "StreamBatches", "ReplayablePasses",
           "PaddedBatches", "passes", "pad"]
