"""Decoding an encoder-decoder: greedy and beam search, the model's log-probability of a
hypothesis, and :func:`translate`, which decodes token lists in batches.

A decoder model has ``encode(src, lengths) -> (memory, state)`` and ``step(prev, memory,
state) -> (log-probabilities (B, V), state, attention weights or None)``
(:class:`~rnnbook.models.seq2seq.Seq2Seq`). A decoded batch is :class:`Hypotheses`; the
search ranks hypotheses by the length-normalised log-probability ``log p(y | x) / |y|^alpha``
(:func:`normalised`).
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..evaluation import outputs
from ..layers import length_mask
from ..models.seq2seq import select
from ..runtime import eval_mode
from ..text import BOS, EOS, Vocab, pad


class Hypotheses(NamedTuple):
    """Decoded batch: ``tokens`` ``(B, T)`` (each row ends at its ``<eos>``, then ``pad``),
    ``lengths`` ``(B,)`` (tokens up to and including ``<eos>``, or ``T`` without one),
    ``scores`` ``(B,)`` (sum of log-probabilities of those tokens) and, from greedy decoding of
    a model with attention, the ``weights`` ``(B, T, S)``."""

    tokens: Tensor
    lengths: Tensor
    scores: Tensor
    weights: Optional[Tensor] = None


def normalised(scores: Tensor, lengths: Tensor, alpha: float) -> Tensor:
    """Length-normalised score ``log p(y | x) / |y|^alpha`` (``alpha=0``: the plain sum,
    ``alpha=1``: the mean log-probability per token, ``<eos>`` counted)."""
    return scores / lengths.to(scores.dtype).clamp(min=1) ** alpha


def _never(logp: Tensor, ids: Sequence[int]) -> Tensor:
    """Log-probabilities with tokens ``ids`` (``<pad>``, ``<bos>``) made impossible."""
    logp = logp.clone()
    logp[..., list(ids)] = float("-inf")
    return logp


@torch.no_grad()
def greedy(model: nn.Module, src: Tensor, lengths: Tensor, bos: int, eos: int,
           max_len: int = 30) -> Hypotheses:
    """Greedy decoding of a batch: at each step the most probable next token, until every
    row has written ``<eos>`` or ``max_len`` tokens. ``<pad>`` and ``<bos>`` are never
    written."""
    if max_len < 1:
        raise ValueError(f"max_len must be positive, got {max_len}")
    pad_id = getattr(model, "pad_id", 0)
    with eval_mode(model):
        memory, state = model.encode(src, lengths)
        b = src.size(0)
        prev = torch.full((b,), bos, dtype=torch.long, device=src.device)
        done = torch.zeros(b, dtype=torch.bool, device=src.device)
        scores = torch.zeros(b, device=src.device)
        length = torch.zeros(b, dtype=torch.long, device=src.device)
        out, weights = [], []
        for _ in range(max_len):
            logp, state, w = model.step(prev, memory, state)
            logp = _never(logp, (pad_id, bos))
            best, tok = logp.max(-1)
            tok = tok.masked_fill(done, pad_id)
            scores += best.masked_fill(done, 0.0)
            length += (~done).long()
            out.append(tok)
            if w is not None:
                weights.append(w.masked_fill(done[:, None], 0.0))
            done = done | (tok == eos)
            prev = tok
            if bool(done.all()):
                break
    return Hypotheses(torch.stack(out, 1), length, scores,
                      torch.stack(weights, 1) if weights else None)


@torch.no_grad()
def sequence_logp(model: nn.Module, src: Tensor, lengths: Tensor, hyps: Tensor, hyp_lengths: Tensor,
          bos: int) -> Tensor:
    """``log p(y | x)`` of given hypotheses ``(B, T)`` (their first ``hyp_lengths`` tokens)
    under the model, teacher-forced: the check of what the decoders report."""
    pad_id = getattr(model, "pad_id", 0)
    with eval_mode(model):
        tgt_in = torch.cat([torch.full_like(hyps[:, :1], bos), hyps[:, :-1]], 1)
        logits = model(src, lengths, tgt_in.masked_fill(tgt_in < 0, pad_id))
        logp = _never(torch.log_softmax(logits.float(), -1), (pad_id, bos))
        tok = logp.gather(-1, hyps.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        real = length_mask(hyp_lengths, hyps.size(1), hyps.device)
        return tok.masked_fill(~real, 0.0).sum(1)


@torch.no_grad()
def beam_search(model: nn.Module, src: Tensor, lengths: Tensor, bos: int, eos: int,
                beam: int = 5, max_len: int = 30, alpha: float = 1.0,
                greedy_floor: bool = True) -> Hypotheses:
    """Batched beam search with length normalisation.

    Every source keeps ``beam`` hypotheses. At each step each live hypothesis is extended by
    every token; a finished one (it wrote ``<eos>``) only by ``<pad>`` at no cost, so it keeps
    its score and length. The ``beam`` best candidates by the normalised score
    ``log p / |y|^alpha`` (:func:`normalised`) survive. It stops when all hypotheses are
    finished or after ``max_len`` tokens, and returns the best normalised hypothesis of each
    source. The search is run on ``B * beam`` rows at once.

    A beam search can lose the greedy path (``beam`` other prefixes may outrank it before it
    ends well), so with ``greedy_floor`` the greedy translation is a candidate too: then the
    result never scores below greedy under the model. With ``beam=1`` the search *is* greedy.
    """
    if beam < 1 or max_len < 1:
        raise ValueError(f"beam and max_len must be positive, got {beam} and {max_len}")
    pad_id = getattr(model, "pad_id", 0)
    dev = src.device
    with eval_mode(model):
        memory, state = model.encode(src, lengths)
        b, k = src.size(0), beam
        rows = torch.arange(b, device=dev).repeat_interleave(k)
        memory, state = select(memory, state, rows)
        scores = torch.full((b, k), float("-inf"), device=dev)
        scores[:, 0] = 0.0  # one live hypothesis at the start
        length = torch.zeros(b, k, dtype=torch.long, device=dev)
        finished = torch.zeros(b, k, dtype=torch.bool, device=dev)
        tokens = torch.zeros(b, k, 0, dtype=torch.long, device=dev)
        prev = torch.full((b * k,), bos, dtype=torch.long, device=dev)
        for t in range(max_len):
            logp, state, _ = model.step(prev, memory, state)
            logp = _never(logp, (pad_id, bos)).view(b, k, -1)
            v = logp.size(-1)
            ended = torch.full((v,), float("-inf"), device=dev)
            ended[pad_id] = 0.0  # a finished hypothesis continues with <pad>, cost 0
            logp = torch.where(finished[..., None], ended, logp)
            cand = scores[..., None] + logp  # (B, K, V) sums of log-probabilities
            new_len = length + (~finished).long()
            norm = normalised(cand, new_len[..., None], alpha)
            top, idx = norm.view(b, k * v).topk(k, dim=1)
            src_beam, tok = idx // v, idx % v
            scores = cand.view(b, k * v).gather(1, idx)
            length = new_len.gather(1, src_beam)
            finished = finished.gather(1, src_beam) | (tok == eos)
            tokens = torch.cat([tokens.gather(1, src_beam[..., None].expand(-1, -1, t)),
                                tok[..., None]], dim=2)
            flat = (src_beam + torch.arange(b, device=dev)[:, None] * k).view(-1)
            memory, state = select(memory, state, flat)
            prev = tok.view(-1)
            if bool(finished.all()):
                break
        best = normalised(scores, length, alpha).argmax(1)
        pick = torch.arange(b, device=dev)
        out = Hypotheses(tokens[pick, best], length[pick, best], scores[pick, best])
    if greedy_floor and k > 1:
        g = greedy(model, src, lengths, bos, eos, max_len)
        better = normalised(g.scores, g.lengths, alpha) > normalised(out.scores, out.lengths,
                                                                     alpha)
        if bool(better.any()):
            width = max(out.tokens.size(1), g.tokens.size(1))
            widen = lambda x: F.pad(x, (0, width - x.size(1)), value=pad_id)  # noqa: E731
            out = Hypotheses(torch.where(better[:, None], widen(g.tokens), widen(out.tokens)),
                             torch.where(better, g.lengths, out.lengths),
                             torch.where(better, g.scores, out.scores))
    return out


def strip(ids: Sequence[int], vocab: Vocab) -> list[str]:
    """Tokens of a decoded row, up to (not including) ``<eos>``; ``<unk>`` stays."""
    out = []
    for i in ids:
        if i == vocab[EOS]:
            break
        out.append(vocab.itos[i])
    return out


class Translation(NamedTuple):
    """One decoded source: its ``tokens`` (``<eos>`` dropped), the normalised ``score`` and,
    from greedy decoding with attention, the weights ``(len(tokens) + 1, len(source))``."""

    tokens: list[str]
    score: float
    weights: Optional[np.ndarray]


def translate(model: nn.Module, sources: Sequence[Sequence[str]], src_vocab: Vocab,
              tgt_vocab: Vocab, beam: int = 1, max_len: int = 30, alpha: float = 1.0,
              batch_size: int = 256) -> list[Translation]:
    """Translate token lists in batches (greedy for ``beam=1``, else :func:`beam_search`),
    in the order of ``sources``, under ``torch.no_grad()``."""
    if len(sources) == 0:
        raise ValueError("nothing to translate")
    bos, eos = tgt_vocab[BOS], tgt_vocab[EOS]
    batches = [pad([src_vocab.encode(s) for s in sources[i:i + batch_size]], 0)
               for i in range(0, len(sources), batch_size)]

    def step(m: nn.Module, batch: tuple[Tensor, Tensor]) -> list[Translation]:
        x, lengths = batch
        h = greedy(m, x, lengths, bos, eos, max_len) if beam == 1 else \
            beam_search(m, x, lengths, bos, eos, beam, max_len, alpha)
        norm = normalised(h.scores, h.lengths, alpha).cpu()
        out = []
        for i, (n, s) in enumerate(zip(h.lengths.tolist(), lengths.tolist())):
            w = None if h.weights is None else h.weights[i, :n, :s].cpu().numpy()
            out.append(Translation(strip(h.tokens[i].tolist(), tgt_vocab), float(norm[i]), w))
        return out

    return outputs(model, batches, step)

__all__ = ["Hypotheses", "normalised", "greedy", "sequence_logp", "beam_search", "strip",
           "Translation", "translate"]
