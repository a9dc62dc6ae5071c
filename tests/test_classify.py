"""The text classifier (every pooling masked), its task module: batches, loss, predictions,
scores, baselines, error analysis, and the language-model initialisation."""

import numpy as np
import pytest
import torch

import rnnbook
from rnnbook.models import CharLM
from rnnbook.models.classifier import (
    POOLINGS,
    AttentionPooling,
    TextClassifier,
    last_pool,
    length_mask,
    max_pool,
    mean_pool,
)
from rnnbook.tasks.classify import (
    ClassificationLoss,
    accuracy_on,
    batches,
    build_char_vocab,
    build_vocab,
    confident_mistakes,
    encode,
    fit_classifier,
    fit_text_classifier,
    majority_baseline,
    most_confused,
    predict,
    scores,
    stratified_split,
    tfidf_baseline,
    tfidf_cross_val,
    tokenize,
)
from rnnbook.tasks.pretrain import init_from_lm, lm_stream, wikitext_tokens

TEXTS = ["a gorgeous , witty film", "dull and tedious", "witty and gorgeous",
         "a tedious , dull mess", "gorgeous", "dull"]
LABELS = [1, 0, 1, 0, 1, 0]


def padded(seqs, extra=0, pad_id=0):
    """A batch of id lists padded to the longest plus ``extra`` steps, and the lengths."""
    steps = max(len(s) for s in seqs) + extra
    x = torch.full((len(seqs), steps), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = torch.tensor(s)
    return x, torch.tensor([len(s) for s in seqs])


@pytest.mark.parametrize("scratch", [False, True])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_never_changes_the_output(pooling, bidirectional, scratch):
    torch.manual_seed(0)
    model = TextClassifier(20, 3, 8, 6, bidirectional=bidirectional, pooling=pooling,
                           scratch=scratch).eval()
    seqs = [[3, 4, 5], [6, 7, 8, 9, 10], [11]]
    x, lengths = padded(seqs)
    with torch.no_grad():
        batch = model(x, lengths)
        more = model(*padded(seqs, extra=4))  # more padding
        junk = x.clone()
        junk[x == 0] = 13  # padding positions hold a real word: still never read
        alone = torch.cat([model(torch.tensor([s]), torch.tensor([len(s)])) for s in seqs])
        assert torch.allclose(batch, model(junk, lengths), atol=1e-6)
    assert batch.shape == (3, 3)
    assert torch.allclose(batch, more, atol=1e-6)
    assert torch.allclose(batch, alone, atol=1e-6)


def test_poolings_by_hand():
    h = torch.arange(2 * 4 * 2, dtype=torch.float).view(2, 4, 2)
    mask = length_mask(torch.tensor([2, 4]), 4)
    assert mask.tolist() == [[True, True, False, False], [True] * 4]
    assert torch.equal(mean_pool(h, mask), torch.stack([h[0, :2].mean(0), h[1].mean(0)]))
    h2 = h.clone()
    h2[0, 2:] = 100.0  # large values in the padding are ignored by max pooling
    assert torch.equal(max_pool(h2, mask), torch.stack([h[0, 1], h[1, 3]]))
    assert torch.equal(last_pool(h, mask, bidirectional=False), torch.stack([h[0, 1], h[1, 3]]))
    # bidirectional (H = 1): forward half at the last real token, backward half at t = 1
    assert torch.equal(last_pool(h, mask, bidirectional=True),
                       torch.tensor([[h[0, 1, 0], h[0, 0, 1]], [h[1, 3, 0], h[1, 0, 1]]]))


def test_attention_weights_sum_to_one_on_real_tokens():
    torch.manual_seed(0)
    pool = AttentionPooling(6, 5)
    h = torch.randn(3, 7, 6)
    mask = length_mask(torch.tensor([7, 2, 4]), 7)
    s, a = pool(h, mask)
    assert s.shape == (3, 6) and a.shape == (3, 7)
    assert torch.allclose(a.sum(1), torch.ones(3))
    assert (a[~mask] == 0).all()
    assert torch.allclose(s, (a.unsqueeze(-1) * h).sum(1), atol=1e-6)


def test_classifier_attention_and_errors():
    model = TextClassifier(10, 2, 4, 3, pooling="attention")
    x, lengths = padded([[2, 3, 4], [5]])
    a = model.attention(x, lengths)
    assert a.shape == (2, 3) and a[1, 1:].abs().sum() == 0
    with pytest.raises(ValueError, match="no attention"):
        TextClassifier(10, 2, 4, 3, pooling="mean").attention(x, lengths)
    with pytest.raises(ValueError, match="pooling"):
        TextClassifier(10, 2, pooling="sum")
    with pytest.raises(ValueError, match="batch, time"):
        model(torch.tensor([1, 2]), torch.tensor([2]))


@pytest.mark.parametrize("pooling", POOLINGS)
def test_overfits_a_tiny_batch(pooling):
    rnnbook.seed_everything(0)
    vocab = build_vocab(TEXTS, min_freq=1)
    ids = encode(TEXTS, vocab)
    model = TextClassifier(len(vocab), 2, 16, 16, pooling=pooling)
    data = batches(ids, LABELS, batch_size=6)
    rnnbook.train(model, data, ClassificationLoss(), steps=60, lr=1e-2, log=None,
                  progress=False)
    labels, probs = predict(model, ids)
    assert labels.tolist() == LABELS
    assert probs.shape == (6, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert rnnbook.evaluate(model, data, ClassificationLoss()) < 0.05


def test_batches_loss_and_predict_order():
    vocab = build_vocab(TEXTS, min_freq=1)
    ids = encode(TEXTS, vocab)
    data = batches(ids, LABELS, batch_size=4, shuffle=False)
    x, lengths, y = next(iter(data))
    assert x.shape == (4, 5) and lengths.tolist() == [5, 3, 3, 5] and y.tolist() == [1, 0, 1, 0]
    torch.manual_seed(0)
    model = TextClassifier(len(vocab), 2, 4, 4)
    loss, n = ClassificationLoss()(model, (x, lengths, y))
    assert n == 4 and loss.shape == () and loss > 0
    # predictions come back in the input order, whatever the batch size
    assert np.allclose(predict(model, ids, batch_size=4)[1], predict(model, ids[::-1],
                                                                    batch_size=2)[1][::-1],
                       atol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        batches(ids, LABELS[:2], 2)


def test_tokens_and_encoding():
    assert tokenize("$BYND up! https://t.co/xyz") == ["$", "bynd", "up", "!", "http"]
    vocab = build_vocab(["a b", "a c"], min_freq=2)
    assert encode(["a z", ""], vocab) == [[vocab["a"], vocab["<unk>"]], [vocab["<unk>"]]]
    assert encode(["a a a"], vocab, max_len=2) == [[vocab["a"]] * 2]
    wiki = " = Valkyria = \n\n The 2 @,@ 000 <unk> men @-@ at arms .\n"
    # "@,@" and "@-@" joined back (the tokenizer then splits the marks again), <unk> dropped
    assert wikitext_tokens(wiki) == ["=", "valkyria", "=", "<eos>", "the", "2", ",", "000",
                                     "men", "-", "at", "arms", ".", "<eos>"]
    stream = lm_stream([["a", "b"], ["a", "<eos>"]], vocab)
    assert stream.tolist() == [vocab["a"], vocab["<unk>"], vocab["<eos>"], vocab["a"],
                               vocab["<eos>"]]


def test_scores_and_baselines():
    assert scores([0, 0, 1, 2], [0, 0, 1, 1]) == pytest.approx(
        {"accuracy": 0.75, "macro_f1": (1 + 2 / 3 + 0) / 3})
    assert majority_baseline([2, 1, 2, 0], 3).tolist() == [2, 2, 2]
    train, test = stratified_split([0] * 8 + [1] * 12, 0.25)
    assert len(test) == 5 and sorted(np.r_[train, test].tolist()) == list(range(20))
    assert sum(i >= 8 for i in test) == 3  # stratified: 60% of the test set is class 1
    texts = TEXTS * 4
    labels, probs = tfidf_baseline(texts, LABELS * 4, ["witty , gorgeous", "tedious mess"])
    assert labels.tolist() == [1, 0] and probs.shape == (2, 2)
    labels, _ = tfidf_baseline(texts, LABELS * 4, ["so witty", "so dull"], kind="char")
    assert labels.tolist() == [1, 0]
    # four columns, class = column: the probabilities of classes 0 and 1, none for 2 and 3
    _, wide = tfidf_baseline(texts, LABELS * 4, ["so witty"], kind="char", num_classes=4)
    assert wide.shape == (1, 4) and wide[0, 2:].sum() == 0 and np.isclose(wide.sum(), 1)
    folds = tfidf_cross_val(texts, LABELS * 4, folds=3)
    assert len(folds) == 3
    # folds in two processes: the same accuracies
    np.testing.assert_array_equal(tfidf_cross_val(texts, LABELS * 4, folds=3, n_jobs=2), folds)


def test_error_analysis():
    m = np.array([[5, 3, 0], [1, 4, 3], [0, 2, 9]])
    assert most_confused(m, ["a", "b", "c"], k=3) == [("a", "b", 3), ("b", "c", 3),
                                                      ("c", "b", 2)]
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert confident_mistakes(probs, [1, 1, 1, 0], k=5) == [0, 3, 2]


def test_init_from_lm_copies_embedding_and_layer():
    torch.manual_seed(0)
    lm = CharLM(12, 5, 7, cell="lstm")
    clf = init_from_lm(TextClassifier(12, 2, 5, 7, bidirectional=False, pooling="max"), lm)
    assert torch.equal(clf.embed.weight, lm.embed.weight)
    x = torch.tensor([[3, 4, 5]])
    h_lm, _ = lm.hidden(x)
    h_clf, _ = clf.states(x, torch.tensor([3]))
    assert torch.allclose(h_lm, h_clf, atol=1e-6)
    with pytest.raises(ValueError, match="left-to-right"):
        init_from_lm(TextClassifier(12, 2, 5, 7, bidirectional=True), lm)


def test_encode_with_characters_and_a_spelling_classifier():
    vocab = build_vocab(["a b", "a c"], min_freq=2)
    chars = build_char_vocab(["ab ab", "a b"], min_freq=1)
    rows = encode(["a zb", ""], vocab, chars=chars, max_chars=3)
    assert [r.shape for r in rows] == [(2, 4), (1, 4)]
    assert rows[0][:, 0].tolist() == [vocab["a"], vocab["<unk>"]]
    # the unseen word "zb" keeps its spelling: <unk> for z, then b, then padding
    assert rows[0][1, 1:].tolist() == [chars["<unk>"], chars["b"], 0]
    assert rows[0][0, 1:].tolist() == [chars["a"], 0, 0]
    assert encode(["abcdef"], vocab, chars=chars, max_chars=2)[0].shape == (1, 3)
    torch.manual_seed(0)
    model = TextClassifier(len(vocab), 2, 4, 3, num_chars=len(chars), char_embed=3,
                           char_hidden=2, pooling="max").eval()
    x, lengths, _ = next(iter(batches(rows, [0, 1], 2, shuffle=False)))
    assert x.shape == (2, 2, 4)
    with torch.no_grad():
        both = model(x, lengths)
        alone = torch.cat([model(r.unsqueeze(0), torch.tensor([len(r)])) for r in rows])
        assert torch.allclose(both, alone, atol=1e-6)
        # the spelling changes the output: same word ids, other characters
        other = x.clone()
        other[0, 1, 1] = chars["a"]
        assert not torch.allclose(model(other, lengths)[0], both[0])
    with pytest.raises(ValueError, match="characters"):
        model(x[..., 0], lengths)


def test_fit_classifier_keeps_the_best_held_out_epoch():
    rnnbook.seed_everything(0)
    vocab = build_vocab(TEXTS, min_freq=1)
    ids = encode(TEXTS, vocab)
    model = TextClassifier(len(vocab), 2, 8, 8, pooling="mean")
    # held-out texts with labels opposite to training: accuracy falls as training goes on,
    # so the best epoch is an early one and the model must end with its weights
    flipped = [1 - y for y in LABELS]
    history = fit_classifier(model, batches(ids, LABELS, 6), epochs=6, lr=3e-2, log=None,
                             held_out=(ids, flipped))
    assert len(history.scores) == 6
    best = max(history.scores)
    assert history.scores.index(best) < 5
    assert accuracy_on(ids, flipped)(model) == best
    with pytest.raises(ValueError, match="labels"):
        accuracy_on(ids, LABELS[:2])


def test_fit_text_classifier_builds_spells_and_trains():
    settings = dict(epochs=20, lr=3e-2, min_freq=1, chars=True, embed_size=8, hidden_size=8,
                    pooling="max", char_embed=4, char_hidden=4)
    model, code, history = fit_text_classifier(TEXTS * 2, LABELS * 2, 2, **settings)
    assert model.chars is not None and code(["witty"])[0].shape == (1, 1 + 16)
    labels, probs = predict(model, code(TEXTS))
    assert labels.tolist() == LABELS
    assert history.scores == []  # nothing held out: no epoch to choose
    again = fit_text_classifier(TEXTS * 2, LABELS * 2, 2, **settings)
    assert np.array_equal(predict(again.model, code(TEXTS))[1], probs)  # seeded: same run
