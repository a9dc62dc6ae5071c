"""The tagger, its data pipeline, masked loss, baseline and scores."""

import math

import numpy as np
import pytest
import torch

import rnnbook
from rnnbook.models import CharEncoder, Tagger
from rnnbook.models.tagger import distinct_rows
from rnnbook.tasks.tagging import (
    MostFrequentTag,
    TaggedBatches,
    TaggingLoss,
    TaggingVocabs,
    confusion_matrix,
    predict,
    tag_accuracy,
    words_and_tags,
)

TOY = [
    (["the", "dog", "runs"], ["DET", "NOUN", "VERB"]),
    (["a", "cat", "runs", "home"], ["DET", "NOUN", "VERB", "NOUN"]),
    (["dogs", "run"], ["NOUN", "VERB"]),
    (["the", "run", "ends"], ["DET", "NOUN", "VERB"]),
    (["The", "Run"], ["DET", "NOUN"]),
]


def test_words_and_tags_skips_multiword_tokens():
    conllu = pytest.importorskip("conllu")
    text = ("1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
            "1\tdo\tdo\tAUX\t_\t_\t3\taux\t_\t_\n"
            "2\tn't\tnot\tPART\t_\t_\t3\tadvmod\t_\t_\n"
            "3\tgo\tgo\tVERB\t_\t_\t0\troot\t_\t_\n\n")
    assert words_and_tags(conllu.parse(text)) == [(["do", "n't", "go"],
                                                  ["AUX", "PART", "VERB"])]


def test_baseline_on_toy_corpus():
    base = MostFrequentTag().fit(TOY)
    # "run" is NOUN twice (lower-cased "Run" included) and VERB once
    assert base.table["run"] == "NOUN" and base.table["the"] == "DET"
    # words seen once: dog cat home dogs ends a -> NOUN x4, VERB x1, DET x1
    assert base.default == "NOUN"
    assert base.predict([(["the", "run", "zebra"], ["DET", "NOUN", "NOUN"])]) == [
        ["DET", "NOUN", "NOUN"]]


def test_scores():
    vocabs = TaggingVocabs.build(TOY)
    gold = [(["the", "zebra", "runs"], ["DET", "NOUN", "VERB"])]
    pred = [["DET", "VERB", "VERB"]]
    acc = tag_accuracy(gold, pred, vocabs.known)
    assert acc["accuracy"] == pytest.approx(2 / 3)
    assert acc["unseen_rate"] == pytest.approx(1 / 3) and acc["unseen_accuracy"] == 0.0
    assert math.isnan(tag_accuracy(TOY[:1], [TOY[0][1]], vocabs.known)["unseen_accuracy"])
    m = confusion_matrix(gold, pred, ["DET", "NOUN", "VERB"])
    np.testing.assert_array_equal(m, [[1, 0, 0], [0, 0, 1], [0, 0, 1]])
    with pytest.raises(ValueError):
        tag_accuracy(gold, [])


def test_batches_shapes_and_unknown_tags():
    vocabs = TaggingVocabs.build(TOY)
    batches = TaggedBatches(TOY + [(["the", "end", "."], ["DET", "NOUN", "PUNCT"])], vocabs,
                            batch_size=6, chars=True, shuffle=False)
    words, lengths, tags, chars = next(iter(batches))
    assert words.shape == tags.shape == (6, 4) and lengths.tolist() == [3, 4, 2, 3, 2, 3]
    assert chars.shape == (6, 4, 4)  # the longest word has 4 characters
    assert tags[0, 3] == -100 and tags[5, 2] == -100  # padding; PUNCT unseen in training
    assert vocabs.chars.decode(chars[4, 1, :3]) == ["R", "u", "n"]  # spelling keeps case
    assert words[4, 1] == vocabs.words["run"]  # the word id is lower-cased


@pytest.mark.parametrize("chars", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_tagger_shapes(chars, bidirectional):
    vocabs = TaggingVocabs.build(TOY)
    model = Tagger(len(vocabs.words), len(vocabs.tags), 8, 6, bidirectional=bidirectional,
                   num_chars=len(vocabs.chars) if chars else 0, char_embed=4, char_hidden=3)
    words, lengths, tags, *spell = next(iter(TaggedBatches(TOY, vocabs, 5, chars=chars)))
    assert model(words, lengths, *spell).shape == (5, 4, len(vocabs.tags))


@pytest.mark.parametrize("scratch", [False, True])
def test_masked_loss_ignores_padding(scratch):
    """Longer padding, and garbage in it, change neither the loss nor the token count."""
    torch.manual_seed(0)
    vocabs = TaggingVocabs.build(TOY)
    model = Tagger(len(vocabs.words), len(vocabs.tags), 8, 6, num_chars=len(vocabs.chars),
                   char_embed=4, char_hidden=3, scratch=scratch).eval()
    batch = next(iter(TaggedBatches(TOY, vocabs, 5, chars=True, shuffle=False)))
    loss, n = TaggingLoss()(model, batch)
    assert n == sum(len(ws) for ws, _ in TOY)
    words, lengths, tags, chars = batch
    more = 3
    words2 = torch.cat([words, torch.randint(2, len(vocabs.words), (5, more))], dim=1)
    for b, length in enumerate(lengths.tolist()):
        words2[b, length:] = torch.randint(2, len(vocabs.words), (words2.size(1) - length,))
    tags2 = torch.cat([tags, torch.full((5, more), -100)], dim=1)
    chars2 = torch.cat([chars, torch.zeros(5, more, chars.size(2), dtype=torch.long)], dim=1)
    loss2, n2 = TaggingLoss()(model, (words2, lengths, tags2, chars2))
    assert n2 == n
    torch.testing.assert_close(loss2, loss)


def test_a_few_steps_lower_the_loss_and_predict():
    rnnbook.seed_everything(0)
    vocabs = TaggingVocabs.build(TOY)
    model = Tagger(len(vocabs.words), len(vocabs.tags), 8, 8, num_chars=len(vocabs.chars),
                   char_embed=4, char_hidden=4)
    batches = TaggedBatches(TOY, vocabs, 5, chars=True)
    loss_fn = TaggingLoss()
    before = rnnbook.evaluate(model, batches, loss_fn)
    rnnbook.train(model, batches, loss_fn, steps=30, lr=0.02, progress=False, log=None)
    after = rnnbook.evaluate(model, batches, loss_fn)
    assert after < 0.5 * before
    pred = predict(model, TOY, vocabs)
    assert [len(p) for p in pred] == [len(ws) for ws, _ in TOY]
    assert tag_accuracy(TOY, pred)["accuracy"] > 0.9


def _spell_each_token(enc, chars):
    """The reference: the character LSTM run on every real token alone, one at a time."""
    out = torch.zeros(*chars.shape[:2], enc.output_size)
    for b, t in torch.nonzero((chars != enc.pad_id).any(-1)).tolist():
        n = int((chars[b, t] != enc.pad_id).sum())
        _, (h_n, _) = enc.rnn(enc.embed(chars[b, t, :n])[None])  # (1, n, E): one word
        out[b, t] = torch.cat([h_n[0, 0], h_n[1, 0]])
    return out


@pytest.mark.parametrize("shape", [(200, 5), (7, 1), (1, 3)])
def test_distinct_rows_is_torch_unique(shape):
    x = torch.randint(0, 3, shape, generator=torch.Generator().manual_seed(0))
    x[1::4] = x[0]  # plenty of repeated rows
    rows, inverse = distinct_rows(x)
    want_rows, want_inverse = torch.unique(x, dim=0, return_inverse=True)
    assert torch.equal(rows, want_rows) and torch.equal(inverse, want_inverse)
    assert torch.equal(rows[inverse], x)


def test_char_encoder_spells_each_distinct_word_once_with_per_token_results():
    """Spelling the distinct words of a batch once gives every token the outputs and the
    gradients of spelling it alone: repeated words (at several places, in several texts),
    words of every length, padded words and padded texts."""
    torch.manual_seed(0)
    enc = CharEncoder(num_chars=9, embed_size=5, hidden_size=4)
    spell = {"the": [3, 4, 5], "a": [2], "cat": [6, 2, 7], "act": [2, 6, 7],
             "tthe": [7, 3, 4, 5], "aaaa": [2, 2, 2, 2], "at": [2, 7], "ta": [7, 2]}
    texts = [["the", "cat", "the", "a", "act"], ["a", "tthe"],
             ["aaaa", "the", "at", "ta", "a", "the"], ["cat"]]
    chars = torch.zeros(len(texts), 7, 5, dtype=torch.long)  # 7 > longest text: padded words
    for b, text in enumerate(texts):
        for t, w in enumerate(text):
            chars[b, t, :len(spell[w])] = torch.tensor(spell[w])
    weight = torch.randn(*chars.shape[:2], enc.output_size)  # a different weight per token

    def outputs_and_grads(run):
        enc.zero_grad()
        out = run(chars)
        (out * weight).sum().backward()
        return out.detach(), {n: p.grad.clone() for n, p in enc.named_parameters()}

    out, grads = outputs_and_grads(enc)
    ref, ref_grads = outputs_and_grads(lambda c: _spell_each_token(enc, c))
    assert (ref.abs().sum(-1) > 0).sum() == sum(len(t) for t in texts)
    assert (out[chars.eq(0).all(-1)] == 0).all()  # padded words: zeros
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-6)
    for name in ref_grads:
        torch.testing.assert_close(grads[name], ref_grads[name], atol=1e-6, rtol=1e-6,
                                   msg=lambda m, name=name: f"gradient of {name}: {m}")
    # the words really are spelt differently, so a wrong copy would show
    assert not torch.allclose(ref[0, 1], ref[0, 4]) and torch.equal(out[0, 0], out[2, 5])
