"""NER helpers: the dictionary baseline, invalid IOB2 counts, strict span scores, the CRF's
loss and prediction, seen versus unseen recall."""

import math

import pytest
import torch

from rnnbook.history import History
from rnnbook.layers import length_mask
from rnnbook.models.crf import CRF, CRFTagger, iob2_constraints
from rnnbook.models.tagger import Tagger
from rnnbook.tasks.ner import (
    HPARAMS,
    CRFLoss,
    DictionaryTagger,
    best_epoch,
    build_tagger,
    count_invalid,
    fit_tagger,
    held_out_split,
    invalid_transitions,
    lowered,
    predict,
    recall_by_seen,
    recipe,
    span_scores,
    train_and_choose,
)
from rnnbook.tasks.tagging import TaggedBatches, TaggingLoss, TaggingVocabs
from rnnbook.text import IGNORE

TRAIN = [
    (["I", "met", "John", "Smith", "in", "New", "York"],
     ["O", "O", "B-PER", "I-PER", "O", "B-LOC", "I-LOC"]),
    (["York", "is", "small"], ["B-LOC", "O", "O"]),
    (["Apple", "hired", "John"], ["B-ORG", "O", "B-PER"]),
    (["John", "left"], ["B-LOC", "O"]),  # a minority type: John stays PER (2 to 1)
    (["John", "slept"], ["B-PER", "O"]),
]


def test_dictionary_longest_match_and_majority_type():
    d = DictionaryTagger().fit(TRAIN)
    assert d.table[("John",)] == "PER" and d.longest == 2
    words = ["New", "York", "and", "York", "met", "John", "Smith", "at", "apple"]
    assert d.tag(words) == ["B-LOC", "I-LOC", "O", "B-LOC", "O", "B-PER", "I-PER", "O", "O"]
    assert d.predict([(["Apple"], ["O"])]) == [["B-ORG"]]
    assert DictionaryTagger().fit([]).tag(["a"]) == ["O"]


def test_invalid_transitions():
    assert invalid_transitions(["O", "B-PER", "I-PER", "O"]) == 0
    assert invalid_transitions(["I-PER", "O", "I-LOC", "B-PER", "I-LOC", "I-LOC"]) == 3
    assert count_invalid([["O", "I-PER"], ["B-ORG"], ["I-ORG", "I-ORG"]]) == {
        "sentences": 2, "transitions": 2}


def test_span_scores_strict():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["I-ORG", "O"]]  # wrong type; no B- (strict)
    s = span_scores(gold, pred)
    assert s["precision"] == pytest.approx(50.0) and s["recall"] == pytest.approx(100 / 3)
    assert s["f1"] == pytest.approx(40.0) and s["support"] == 3
    assert s["types"]["PER"]["f1"] == 100.0 and s["types"]["LOC"]["recall"] == 0.0
    assert isinstance(s["f1"], float)
    assert math.isnan(span_scores(gold, pred, ("PER", "MISC"))["types"]["MISC"]["f1"])
    assert span_scores(gold, pred, ("PER",))["types"]["PER"]["f1"] == 100.0
    with pytest.raises(ValueError):
        span_scores(gold, pred[:1])
    with pytest.raises(ValueError):
        span_scores([["O"]], [["O", "O"]])


def test_recall_by_seen():
    test = [(["John", "Smith", "met", "Mary"], ["B-PER", "I-PER", "O", "B-PER"]),
            (["York", "rocks"], ["B-LOC", "O"])]
    pred = [["B-PER", "I-PER", "O", "O"], ["I-LOC", "O"]]  # I-LOC opens no span (strict)
    r = recall_by_seen(TRAIN, test, pred)
    assert r["seen"] == {"recall": 50.0, "entities": 2}
    assert r["unseen"] == {"recall": 0.0, "entities": 1}


def _crf_model(vocabs, chars=False):
    torch.manual_seed(0)
    tagger = Tagger(len(vocabs.words), len(vocabs.tags), 16, 16,
                    num_chars=len(vocabs.chars) if chars else 0, char_embed=4, char_hidden=4)
    return CRFTagger(tagger, iob2_constraints(vocabs.tags.itos))


@pytest.mark.parametrize("chars", [False, True])
def test_crf_loss_and_predict(chars):
    vocabs = TaggingVocabs.build(TRAIN, lower=False)
    model = _crf_model(vocabs, chars)
    batch = next(iter(TaggedBatches(TRAIN, vocabs, 5, chars=chars, shuffle=False)))
    loss, n = CRFLoss()(model, batch)
    assert n == 17 and loss.dim() == 0 and loss.item() > 0
    expected = model.nll(batch.words, batch.lengths, batch.tags, batch.chars).sum() / 17
    assert loss.item() == pytest.approx(expected.item())
    loss.backward()
    pred = predict(model, TRAIN, vocabs)
    assert [len(p) for p in pred] == [len(w) for w, _ in TRAIN]
    assert count_invalid(pred)["transitions"] == 0
    bad = batch._replace(tags=batch.tags.masked_fill(batch.tags == 0, IGNORE))
    with pytest.raises(ValueError, match="unknown"):
        CRFLoss()(model, bad)


def test_train_and_choose_keeps_the_best_epoch():
    vocabs = TaggingVocabs.build(TRAIN, lower=False)
    model = _crf_model(vocabs)
    batches = TaggedBatches(TRAIN, vocabs, 2, seed=0)
    r = train_and_choose(model, batches, CRFLoss(), TRAIN, vocabs, epochs=30, lr=0.05,
                         log=None)
    assert isinstance(r, History) and len(r.scores) == 30
    assert r.scores[best_epoch(r) - 1] == max(r.scores)
    assert r.score_steps == [3 * k for k in range(1, 31)]  # 3 batches an epoch
    gold = [t for _, t in TRAIN]
    assert span_scores(gold, predict(model, TRAIN, vocabs))["f1"] == max(r.scores) == 100.0
    # the softmax tagger goes through the same helpers (arg-max prediction)
    soft = Tagger(len(vocabs.words), len(vocabs.tags), 8, 8)
    r = train_and_choose(soft, batches, TaggingLoss(), TRAIN[:1], vocabs, epochs=1, lr=0.01,
                         log=None)
    assert best_epoch(r) == 1
    with pytest.raises(ValueError):
        train_and_choose(soft, batches, TaggingLoss(), TRAIN, vocabs, epochs=0, lr=0.01)


def test_build_tagger():
    vocabs = TaggingVocabs.build(TRAIN)
    crf = build_tagger(vocabs, crf=True, chars=True, embed_size=8, hidden_size=8)
    assert isinstance(crf, CRFTagger) and crf.chars is not None
    assert not crf.crf.allowed[vocabs.tags["O"], vocabs.tags["I-PER"]]
    soft = build_tagger(vocabs, crf=False, chars=False, embed_size=8, hidden_size=8)
    assert isinstance(soft, Tagger) and soft.chars is None
    assert soft.out.out_features == len(vocabs.tags) == 6


@pytest.mark.parametrize("crf", [False, True])
def test_fit_tagger_is_reproducible(crf):
    kw = dict(crf=crf, chars=True, epochs=2, lr=0.01, batch_size=2, log=None, embed_size=8,
              hidden_size=8, char_embed=4, char_hidden=4)
    a = fit_tagger(TRAIN, TRAIN[:2], TRAIN, seed=0, **kw)
    b = fit_tagger(TRAIN, TRAIN[:2], TRAIN, seed=0, **kw)
    assert a["pred"] == b["pred"] and a["history"].scores == b["history"].scores
    # the seed reaches the model: another seed gives other weights
    c = fit_tagger(TRAIN, TRAIN[:2], TRAIN, seed=1, **kw)
    wa, wc = a["model"].state_dict(), c["model"].state_dict()
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)
    with pytest.raises(TypeError, match="seed"):  # no silent default seed
        fit_tagger(TRAIN, TRAIN[:2], TRAIN, **kw)
    assert isinstance(a["model"], CRFTagger if crf else Tagger)
    assert [len(p) for p in a["pred"]] == [len(w) for w, _ in TRAIN]


def test_patience_stops_training_and_keeps_the_best_epoch():
    vocabs = TaggingVocabs.build(TRAIN, lower=False)
    torch.manual_seed(0)
    model = _crf_model(vocabs)
    batches = TaggedBatches(TRAIN, vocabs, 2, seed=0)
    r = train_and_choose(model, batches, CRFLoss(), TRAIN, vocabs, epochs=200, lr=0.05,
                         patience=3, log=None)
    best = best_epoch(r)
    assert len(r.scores) == best + 3 < 200  # stopped by patience
    assert r.scores[best - 1] == max(r.scores) > max(r.scores[:best - 1], default=-1)
    assert span_scores([t for _, t in TRAIN], predict(model, TRAIN, vocabs))["f1"] == \
        r.scores[best - 1]
    r = train_and_choose(model, batches, CRFLoss(), TRAIN, vocabs, epochs=2, lr=0.05,
                         patience=5, log=None)
    assert len(r.scores) == 2
    with pytest.raises(ValueError, match="patience"):
        train_and_choose(model, batches, CRFLoss(), TRAIN, vocabs, epochs=2, lr=0.05,
                         patience=0, log=None)


def test_all_o_finds_nothing():
    gold = [t for _, t in TRAIN]
    scores = span_scores(gold, [["O"] * len(t) for t in gold])
    assert scores["f1"] == scores["recall"] == scores["precision"] == 0.0
    assert scores["support"] == 7


@pytest.mark.parametrize("seed", range(5))
def test_iob2_constraints_leave_no_invalid_sequence(seed):
    # any scores at all: Viterbi under the -inf constraints never emits an invalid sequence
    tags = ["O"] + [f"{p}-{t}" for t in ("PER", "ORG", "LOC", "MISC") for p in "BI"]
    torch.manual_seed(seed)
    crf = CRF(len(tags), iob2_constraints(tags))
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_(0, 3)
    emissions = 5 * torch.randn(64, 12, len(tags))
    lengths = torch.randint(1, 13, (64,))
    mask = length_mask(lengths, 12, emissions.device)
    paths = crf.decode(emissions, mask)
    decoded = [[tags[i] for i in p[:n]] for p, n in zip(paths.tolist(), lengths.tolist())]
    assert count_invalid(decoded) == {"sentences": 0, "transitions": 0}
    # without the constraints, the same scores do decode invalid sequences
    free = CRF(len(tags))
    with torch.no_grad():
        for name in ("transitions", "start", "end"):
            getattr(free, name).copy_(getattr(crf, name))
    loose = [[tags[i] for i in p[:n]]
             for p, n in zip(free.decode(emissions, mask).tolist(), lengths.tolist())]
    assert count_invalid(loose)["sentences"] > 0


def test_held_out_split_keeps_blocks_together():
    pairs = [([f"w{i}"], ["O"]) for i in range(23)]
    train, held = held_out_split(pairs, every=3, block=2)
    assert [int(ws[0][1:]) for ws, _ in held] == [4, 5, 10, 11, 16, 17, 22]
    assert len(train) + len(held) == 23 and not set(map(id, train)) & set(map(id, held))
    with pytest.raises(ValueError, match="every"):
        held_out_split(pairs, every=1)


def test_recipe_covers_every_budget_and_fit_tagger_takes_it():
    for budget in ("smoke", "cpu", "gpu"):
        assert HPARAMS[budget].keys() == HPARAMS["cpu"].keys()
        kw = recipe(HPARAMS[budget])
        assert kw["hidden_size"] == HPARAMS[budget]["hidden"]
        assert kw["char_embed"] == HPARAMS[budget]["char_embed"]
        assert kw["patience"] == HPARAMS[budget]["patience"]
    kw = dict(recipe(HPARAMS["smoke"]), embed_size=4, hidden_size=4, char_embed=2,
              char_hidden=2)
    out = fit_tagger(TRAIN, TRAIN[:2], TRAIN, crf=True, seed=0, log=None, **kw)
    assert [len(p) for p in out["pred"]] == [len(w) for w, _ in TRAIN]


def test_lower_text_lowers_the_characters_too():
    kw = dict(crf=False, seed=0, epochs=1, lr=0.01, batch_size=2, log=None, embed_size=4,
              hidden_size=4, char_embed=2, char_hidden=2)
    out = fit_tagger(TRAIN, TRAIN[:2], TRAIN, lower_text=True, **kw)
    assert "A" not in out["vocabs"].chars.stoi and "a" in out["vocabs"].chars.stoi
    cased = fit_tagger(TRAIN, TRAIN[:2], TRAIN, **kw)
    assert "A" in cased["vocabs"].chars.stoi
    assert lowered(TRAIN[:1]) == [(["i", "met", "john", "smith", "in", "new", "york"],
                                   TRAIN[0][1])]
