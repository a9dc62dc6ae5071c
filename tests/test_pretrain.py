"""The pre-training chapter's package code: the word-level language model (adaptive softmax,
dropouts), the concat-pooling classifier, the held-out slices, the input after ``<eos>``, the
stratified draws and ULMFiT's fine-tuning through rnnbook.train."""

import numpy as np
import pytest
import torch

import rnnbook
from rnnbook.models import ConcatPoolClassifier, WordLM
from rnnbook.models.word_lm import adaptive_cutoffs, embedding_dropout, locked_dropout
from rnnbook.tasks.classify import ClassificationLoss, batches
from rnnbook.tasks.pretrain import (
    AdaptiveLMLoss,
    encode_after_eos,
    fine_tune,
    hold_out,
    init_from_lm,
    lm_stream,
    paragraphs,
    subsample,
    transfer,
)
from rnnbook.text import EOS, Vocab


def test_word_lm_log_probs_are_a_distribution_and_match_the_training_loss():
    torch.manual_seed(0)
    lm = WordLM(50, 8, 16, cutoffs=(10, 30), div_value=2.0).eval()
    x, y = torch.randint(0, 50, (3, 7)), torch.randint(0, 50, (3, 7))
    with torch.no_grad():
        logp, (h_n, c_n) = lm(x)
        assert logp.shape == (3, 7, 50) and h_n.shape == (1, 3, 16)
        assert torch.allclose(logp.exp().sum(-1), torch.ones(3, 7), atol=1e-5)
        nll = -logp.gather(-1, y[..., None]).mean()
        loss, n = AdaptiveLMLoss()(lm, (x, y))
    assert n == 21 and abs(float(loss) - float(nll)) < 1e-5


def test_adaptive_loss_carries_the_state_like_one_long_pass():
    torch.manual_seed(0)
    lm = WordLM(30, 6, 9, cutoffs=(8,)).eval()
    x, y = torch.randint(0, 30, (2, 10)), torch.randint(0, 30, (2, 10))
    whole = AdaptiveLMLoss()(lm, (x, y))[0]
    stateful = AdaptiveLMLoss(stateful=True)
    halves = [stateful(lm, (x[:, s], y[:, s]))[0] for s in (slice(0, 5), slice(5, 10))]
    assert abs(float(sum(halves).detach() / 2) - float(whole.detach())) < 1e-5
    fresh = stateful.fresh()
    assert isinstance(fresh, AdaptiveLMLoss) and fresh.stateful and fresh.state is None


def test_adaptive_cutoffs_fit_the_vocabulary():
    assert adaptive_cutoffs(20000) == [2000, 10000]
    assert adaptive_cutoffs(5000) == [2000]
    assert adaptive_cutoffs(40) == [20]


def test_dropouts_lock_the_mask_over_time_and_drop_whole_words():
    torch.manual_seed(0)
    x = torch.ones(4, 6, 5)
    out = locked_dropout(x, 0.5, training=True)
    assert torch.equal(out, out[:, :1].expand_as(out))  # same mask at every step
    assert set(out.unique().tolist()) <= {0.0, 2.0} and (out == 0).any()
    assert torch.equal(locked_dropout(x, 0.5, training=False), x)
    embed = torch.nn.Embedding(10, 3)
    ids = torch.tensor([[1, 2, 1, 3, 1, 2]] * 8)
    e = embedding_dropout(embed, ids, 0.5, training=True)
    zero = (e == 0).all(-1)
    for w in (1, 2, 3):  # a word is dropped everywhere or nowhere
        assert zero[ids == w].all() or not zero[ids == w].any()
    assert torch.equal(embedding_dropout(embed, ids, 0.5, training=False), embed(ids))


def test_concat_pool_classifier_ignores_padding_and_pools_three_ways():
    torch.manual_seed(0)
    model = ConcatPoolClassifier(20, 3, 6, 5).eval()
    seqs = [[3, 4, 5], [6, 7, 8, 9, 10], [11]]
    x, lengths = rnnbook.text.pad(seqs)
    wider = torch.cat([x, torch.full((3, 4), 15)], 1)  # a real word where padding was
    with torch.no_grad():
        one = torch.cat([model(torch.tensor([s]), torch.tensor([len(s)])) for s in seqs])
        assert torch.allclose(model(x, lengths), one, atol=1e-5)
        assert torch.allclose(model(wider, lengths), one, atol=1e-5)
        s = model.pooled(torch.tensor([seqs[1]]), torch.tensor([5]))
        h, _ = model.encoder(model.embed(torch.tensor([seqs[1]])))
    assert s.shape == (1, 15)
    assert torch.allclose(s, torch.cat([h[:, -1], h.mean(1), h.max(1).values], -1), atol=1e-6)
    assert [type(m).__name__ for m in model.layers()] == ["Embedding", "RecurrentEncoder",
                                                          "Sequential"]


def test_init_from_lm_copies_a_word_lm_into_the_classifier():
    torch.manual_seed(0)
    lm = WordLM(40, 6, 7, cutoffs=(10,))
    clf = init_from_lm(ConcatPoolClassifier(40, 2, 6, 7), lm)
    assert torch.equal(clf.embed.weight, lm.embed.weight)
    for name, p in lm.rnn.named_parameters():
        assert torch.equal(getattr(clf.encoder.rnn, name), p)
    ids = torch.tensor([[1, 5, 9, 2]])
    with torch.no_grad():  # the classifier's LSTM reads a text exactly as the LM does
        h_lm, _ = lm.eval().rnn(lm.embed(ids))
        h_clf, _ = clf.eval().encoder(clf.embed(ids), torch.tensor([4]))
    assert torch.allclose(h_lm, h_clf, atol=1e-6)


def test_paragraphs_and_hold_out():
    assert paragraphs(["a", "b", EOS, "c", EOS, "d"]) == [["a", "b", EOS], ["c", EOS], ["d"]]
    texts = list(range(100))
    kept, held = hold_out(texts, 0.1, seed=3)
    assert len(held) == 10 and sorted(kept + held) == texts
    assert kept == sorted(kept) and held == sorted(held)
    assert hold_out(texts, 0.1, seed=3) == (kept, held)
    assert hold_out(texts, 0.1, seed=4)[1] != held
    with pytest.raises(ValueError, match="between 0 and 1"):
        hold_out(texts, 1.5)
    with pytest.raises(ValueError, match="at least two"):
        hold_out([1], 0.5)


def test_encode_after_eos_and_lm_stream_agree():
    vocab = Vocab.build([["a", "good", "film"], ["bad"]])
    ids = encode_after_eos(["A good film", "bad", ""], vocab)
    assert ids[0] == [vocab[EOS], vocab["a"], vocab["good"], vocab["film"]]
    assert ids[2] == [vocab[EOS], vocab.unk_id]
    stream = lm_stream([["a", "good", "film"], ["bad"]], vocab).tolist()
    assert stream[3] == vocab[EOS] and stream[4:6] == ids[1][1:] + [vocab[EOS]]


def test_subsample_is_stratified_and_seeded():
    labels = [0] * 80 + [1] * 20
    idx = subsample(labels, 10, seed=0)
    assert len(idx) == 10 and sorted(np.asarray(labels)[idx].tolist()) == [0] * 8 + [1] * 2
    assert np.array_equal(subsample(labels, 10, seed=0), idx)
    assert not np.array_equal(subsample(labels, 10, seed=1), idx)
    assert np.array_equal(subsample(labels, 500), np.arange(100))


def _toy(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = [torch.randint(4, 20, (int(torch.randint(2, 6, (1,), generator=g)),),
                         generator=g).tolist() for _ in range(n)]
    return ids, [int(4 in s or 5 in s) for s in ids]


def test_fine_tune_unfreezes_one_layer_per_epoch_at_discriminative_rates(monkeypatch):
    import rnnbook.tasks.pretrain as pre

    torch.manual_seed(0)
    model = ConcatPoolClassifier(20, 2, 6, 5)
    ids, y = _toy()
    data = batches(ids, y, 16)  # 3 batches per pass
    layers = model.layers()
    start = [[p.detach().clone() for p in m.parameters()] for m in layers]
    seen = {"moved": [], "rates": [], "opt": None}

    class Spy(ClassificationLoss):  # the learning rate of each group at each step
        def __call__(self, m, batch):
            seen["rates"].append([g["lr"] for g in seen["opt"].param_groups])
            return super().__call__(m, batch)

    def spying_train(m, d, loss, **kw):  # which layers have moved after each call
        seen["opt"] = kw["optimizer"]
        out = rnnbook.train(m, d, loss, **kw)
        seen["moved"].append([any(not torch.equal(p, q) for p, q in zip(mod.parameters(), s))
                              for mod, s in zip(layers, start)])
        return out

    monkeypatch.setattr(pre, "train", spying_train)
    fine_tune(model, layers, data, Spy(), epochs=4, lr=1e-2, progress=False, log=None)
    # pass 0: the head only; pass 1: + LSTM; passes 2-3 (one call): + embedding
    assert seen["moved"] == [[False, False, True], [False, True, True], [True, True, True]]
    rates = np.array(seen["rates"])  # (12 steps, 3 groups), each 2.6 times the one below
    assert rates.shape == (12, 3)
    assert np.allclose(rates[:, 2] / rates[:, 1], 2.6)
    assert np.allclose(rates[:, 1] / rates[:, 0], 2.6)
    top = rates[:, 2]  # slanted triangular: up for cut = max(1, floor(0.1 * 12)) = 1 step
    assert abs(top[0] - 1e-2 / 32) < 1e-9 and abs(top[1] - 1e-2) < 1e-9
    assert np.all(np.diff(top[1:]) < 0)
    assert all(p.requires_grad for p in model.parameters())  # every layer trains afterwards


def test_fine_tune_without_gradual_unfreezing_is_plain_training_and_learns():
    torch.manual_seed(0)
    model = ConcatPoolClassifier(20, 2, 8, 8, dropout=0.0, head_dropout=0.0)
    ids, y = _toy(96)
    data = batches(ids, y, 16)
    before = rnnbook.evaluate(model, data, ClassificationLoss())
    hist = fine_tune(model, model.layers(), data, ClassificationLoss(), epochs=15, lr=1e-2,
                     factor=1.0, gradual=False, progress=False, log=None)
    assert len(hist) == 1
    assert rnnbook.evaluate(model, data, ClassificationLoss()) < 0.5 * before
    with pytest.raises(ValueError, match="at least 3 epochs"):
        fine_tune(model, model.layers(), data, ClassificationLoss(), epochs=2, lr=1e-3)


@pytest.mark.parametrize("recipe", ["scratch", "naive", "ULMFiT", "frozen", "LoRA"])
def test_transfer_recipes_start_from_the_lm_and_train_what_they_say(recipe):
    torch.manual_seed(0)
    lm = WordLM(20, 6, 5, cutoffs=(8,))
    lm_state = {k: v.clone() for k, v in lm.state_dict().items()}
    model = ConcatPoolClassifier(20, 2, 6, 5)
    fresh_embed = model.embed.weight.detach().clone()
    ids, y = _toy()
    transfer(model, lm, recipe, batches(ids, y, 16), ClassificationLoss(), epochs=3, lr=1e-2,
             lora_rank=2, progress=False, log=None)
    assert all(torch.equal(v, lm.state_dict()[k]) for k, v in lm_state.items())  # lm untouched
    rnn = model.encoder.rnn
    if recipe in ("frozen", "LoRA"):  # the copied weights stay exactly the LM's
        assert torch.equal(model.embed.weight, lm.embed.weight)
        assert torch.equal(rnn.parametrizations.weight_hh_l0.original if recipe == "LoRA"
                           else rnn.weight_hh_l0, lm.rnn.weight_hh_l0)
        head = sum(p.numel() for p in model.head.parameters())
        lora = 2 * (4 * 5 + 6) + 2 * (4 * 5 + 5) if recipe == "LoRA" else 0  # r (out + in)
        assert rnnbook.finetune.count_trainable(model) == head + lora
        if recipe == "LoRA":  # the update moved: the LSTM now differs from the LM's
            assert not torch.equal(rnn.weight_hh_l0, lm.rnn.weight_hh_l0)
    else:
        start = fresh_embed if recipe == "scratch" else lm.embed.weight
        assert not torch.equal(model.embed.weight, start)  # every layer trained
        assert rnnbook.finetune.count_trainable(model) == sum(p.numel()
                                                              for p in model.parameters())
    with pytest.raises(ValueError, match="recipe must be one of"):
        transfer(model, lm, "bert", [], ClassificationLoss(), epochs=3, lr=1e-3)
