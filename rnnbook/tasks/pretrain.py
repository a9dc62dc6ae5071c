"""Language-model pre-training for a text classifier, and ULMFiT's fine-tuning.

- the unlabelled text a language model reads: :func:`wikitext_tokens` (WikiText-2 as words),
  :func:`paragraphs`, :func:`hold_out` (a held-out slice of every source), :func:`lm_stream`;
- its loss with an adaptive softmax: :class:`AdaptiveLMLoss`;
- the copy of its weights into a classifier: :func:`init_from_lm`, and the classifier's input,
  which starts as the language model's text does, after ``<eos>`` (:func:`encode_after_eos`);
- fine-tuning through :func:`rnnbook.train` with the pieces of :mod:`rnnbook.finetune`:
  :func:`fine_tune` (discriminative and slanted triangular learning rates, gradual unfreezing;
  a model trained from scratch goes through the same call with ``factor=1, gradual=False``),
  :func:`subsample` (a stratified draw of ``n`` labelled texts).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ..finetune import GradualUnfreezing, discriminative_groups, slanted_triangular_scheduler
from ..history import History
from ..runtime import detach
from ..text import EOS, UNK, Vocab
from ..train import train
from .classify import tokenize
from .lm import LanguageModelLoss

# WikiText marks split numbers and hyphens as " @-@ ", " @,@ ", " @.@ " and rare words as <unk>
_WIKI_AT = re.compile(r" @(.)@ ")


def wikitext_tokens(text: str) -> list[str]:
    """WikiText-2 as plain words: ``@-@`` markers joined back, ``<unk>`` dropped, headings
    (``= = Title = =``) kept as words, one :data:`~rnnbook.text.EOS` per paragraph."""
    out: list[str] = []
    for line in text.split("\n"):
        words = tokenize(_WIKI_AT.sub(r"\1", line.replace("<unk>", " ")))
        if words:
            out += words + [EOS]
    return out


def paragraphs(tokens: Sequence[str]) -> list[list[str]]:
    """Cut a token stream after every ``<eos>``: ``[a, b, <eos>, c, <eos>]`` ->
    ``[[a, b, <eos>], [c, <eos>]]`` (a tail without ``<eos>`` is a paragraph too)."""
    out, cur = [], []
    for t in tokens:
        cur.append(t)
        if t == EOS:
            out.append(cur)
            cur = []
    return out + ([cur] if cur else [])


def hold_out(texts: Sequence[Any], fraction: float, seed: int = 0
             ) -> tuple[list[Any], list[Any]]:
    """``(kept, held_out)``: a random ``fraction`` of ``texts`` (at least one) held out, e.g. to
    measure a language model's perplexity on text of each source that it never read; both keep
    the input order."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction is the share held out, between 0 and 1, got {fraction}")
    if len(texts) < 2:
        raise ValueError(f"need at least two texts to hold one out, got {len(texts)}")
    n = min(len(texts) - 1, max(1, round(fraction * len(texts))))
    held = np.zeros(len(texts), dtype=bool)
    held[np.random.default_rng(seed).choice(len(texts), n, replace=False)] = True
    return ([t for t, h in zip(texts, held) if not h], [t for t, h in zip(texts, held) if h])


def lm_stream(token_lists: Iterable[Sequence[str]], vocab: Vocab) -> torch.Tensor:
    """One id stream for a language model: the texts' tokens, each text ended by ``<eos>``
    (a list that already ends with ``<eos>`` gets no second one)."""
    ids: list[int] = []
    for tokens in token_lists:
        ids += vocab.encode(tokens)
        if not tokens or tokens[-1] != EOS:
            ids.append(vocab[EOS])
    return torch.tensor(ids, dtype=torch.long)


class AdaptiveLMLoss(LanguageModelLoss):
    """:class:`~rnnbook.tasks.lm.LanguageModelLoss` for a model with an adaptive softmax
    (:class:`~rnnbook.models.WordLM`): ``model.hidden(x, state)`` then ``model.nll(h, y)``, so
    the ``(B, T, V)`` log-probabilities are never built. Stateful like its parent (truncated
    BPTT over :class:`~rnnbook.batching.StreamBatches`)."""

    def fresh(self) -> AdaptiveLMLoss:
        return AdaptiveLMLoss(self.stateful, self.ignore_index)

    def __call__(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        x, y = batch
        h, state = model.hidden(x, self.state if self.stateful else None)
        if self.stateful:
            self.state = detach(state)
        return model.nll(h, y), int(y.numel())


def encode_after_eos(texts: Sequence[str], vocab: Vocab) -> list[list[int]]:
    """Word ids of each text after an ``<eos>``: ``[<eos>, w_1, .., w_L]``. The language model
    read every text after the ``<eos>`` of the one before, so a classifier started from it
    reads its first word in the context it knows (an empty text is ``[<eos>, <unk>]``)."""
    return [[vocab[EOS]] + (vocab.encode(tokenize(t)) or [vocab[UNK]]) for t in texts]


def subsample(labels: Sequence[int], n: int, seed: int = 0) -> np.ndarray:
    """Indices (sorted) of ``n`` of the texts, drawn at random with every class in proportion
    to its share (stratified, scikit-learn); ``n >= len(labels)`` gives all of them."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    if n >= len(labels):
        return idx
    keep, _ = train_test_split(idx, train_size=n, random_state=seed,
                               stratify=np.asarray(labels))
    return np.sort(keep)


def fine_tune(model: nn.Module, layers: Sequence[nn.Module], data: Any, loss_fn: Any, *,
              epochs: int, lr: float, factor: float = 2.6, gradual: bool = True,
              cut_frac: float = 0.1, ratio: float = 32, weight_decay: float = 0.01,
              **train_kw: Any) -> list[History]:
    """ULMFiT's fine-tuning with :func:`rnnbook.train`, ``epochs`` passes over ``data``.

    One AdamW over :func:`~rnnbook.finetune.discriminative_groups` (the top layer at ``lr``,
    each one below ``factor`` times slower) and one slanted triangular schedule over the whole
    run. With ``gradual``, pass ``k`` trains the top ``k + 1`` layers only
    (:class:`~rnnbook.finetune.GradualUnfreezing`) and the passes from ``len(layers) - 1`` on
    train all of them; ``epochs`` must then be at least ``len(layers)``. Without it every layer
    trains from the start; ``factor=1, gradual=False`` is plain training at one rate (a model
    from scratch). ``train_kw`` goes to every :func:`rnnbook.train` call (``log``,
    ``progress``, ...). Returns the history of each call; every layer trains afterwards.
    """
    n = len(layers)
    if gradual and epochs < n:
        raise ValueError(f"gradual unfreezing of {n} layers needs at least {n} epochs, "
                         f"got {epochs}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    opt = torch.optim.AdamW(discriminative_groups(layers, lr, factor,
                                                  weight_decay=weight_decay))
    sched = slanted_triangular_scheduler(opt, max(2, epochs * len(data)), cut_frac=cut_frac,
                                         ratio=ratio)
    unfreezing = GradualUnfreezing(layers)
    stages = [(k, 1) for k in range(n - 1)] + [(n - 1, epochs - n + 1)] if gradual \
        else [(n - 1, epochs)]
    histories = []
    for k, passes in stages:
        unfreezing.stage(k)
        histories.append(train(model, data, loss_fn, epochs=passes, optimizer=opt,
                               scheduler=sched, **train_kw))
    unfreezing.stage(n - 1)
    return histories


RECIPES = ("scratch", "naive", "ULMFiT", "frozen", "LoRA")


def transfer(model: nn.Module, lm: nn.Module, recipe: str, data: Any, loss_fn: Any, *,
             epochs: int, lr: float, lora_rank: int = 8, **train_kw: Any) -> nn.Module:
    """Train a classifier (``embed``, ``encoder``, ``head``, ``layers()``, e.g. a
    :class:`~rnnbook.models.ConcatPoolClassifier`) by one of five recipes with :func:`fine_tune`:

    - ``"scratch"``: its own fresh weights, every layer at ``lr`` from the first step;
    - ``"naive"``: embedding and LSTM copied from ``lm`` (:func:`init_from_lm`), then the same;
    - ``"ULMFiT"``: copied, then discriminative rates and gradual unfreezing;
    - ``"frozen"``: copied and frozen; only the head trains;
    - ``"LoRA"``: copied and frozen, a rank-``lora_rank`` update of the LSTM's two weight
      matrices (:func:`rnnbook.layers.lora.add_lora`) and the head train.

    Returns ``model``, trained in place (with ``lm`` unchanged).
    """
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, got {recipe!r}")
    layers, kw = model.layers(), dict(factor=1.0, gradual=False)  # one rate, every layer
    if recipe != "scratch":
        init_from_lm(model, lm)
    if recipe == "ULMFiT":
        kw = {}
    elif recipe in ("frozen", "LoRA"):
        from ..finetune import freeze
        from ..layers.lora import add_lora, lora_parameters

        freeze(model.embed)
        freeze(model.encoder)
        layers = [model.head]
        if recipe == "LoRA":
            add_lora(model.encoder.rnn, rank=lora_rank)
            layers = [nn.ParameterList(lora_parameters(model.encoder.rnn)), model.head]
    fine_tune(model, layers, data, loss_fn, epochs=epochs, lr=lr, **kw, **train_kw)
    return model


def init_from_lm(classifier: nn.Module, lm: nn.Module) -> nn.Module:
    """Copy a language model's embedding and recurrent layer into a classifier.

    ``lm`` is a :class:`~rnnbook.models.CharLM` or :class:`~rnnbook.models.WordLM`
    (``embed``, ``rnn``) over the classifier's
    vocabulary, with a left-to-right layer of the classifier's kind and sizes; the classifier
    (``embed``, ``encoder.rnn``) must be left to right too. Its pooling and output layer keep
    their fresh weights. Returns the classifier.
    """
    if getattr(classifier, "bidirectional", False):
        raise ValueError("a left-to-right language model initialises a left-to-right "
                         "classifier: build it with bidirectional=False")
    with torch.no_grad():
        classifier.embed.weight.copy_(lm.embed.weight)
    classifier.encoder.rnn.load_state_dict(lm.rnn.state_dict())
    return classifier


__all__ = ["wikitext_tokens", "paragraphs", "hold_out", "lm_stream", "AdaptiveLMLoss",
           "encode_after_eos", "subsample", "fine_tune", "RECIPES", "transfer", "init_from_lm"]
