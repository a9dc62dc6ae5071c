"""Corpora: contiguous splits, vocabularies built from the training part only, names streams."""

import pytest
import torch

from rnnbook.corpora import char_corpus, contiguous_split, names_corpus, word_corpus


def test_contiguous_split_keeps_order_and_covers_everything():
    parts = contiguous_split(list(range(10)), (0.5, 0.3, 0.2))
    assert parts == [[0, 1, 2, 3, 4], [5, 6, 7], [8, 9]]
    with pytest.raises(ValueError, match="sum to 1"):
        contiguous_split([1, 2], (0.5, 0.6))


def test_char_corpus_splits_the_text_in_order():
    text = "abcabcabcd"
    corpus = char_corpus(text, (0.8, 0.2))
    assert "".join(corpus.vocab.decode(torch.cat([corpus.train, corpus.val]).tolist())) == text
    assert len(corpus.vocab) == 4 and len(corpus.train) == 8


def test_word_corpus_vocabulary_comes_from_training_text_only():
    # 20 words of training text, then validation and test; "zebra" appears only at the end
    text = " ".join(["the cat sat on the mat ."] * 4) + " the zebra ."
    corpus = word_corpus(text, test_fraction=0.1, val_fraction=0.1, min_freq=2)
    vocab = corpus.vocab
    assert "zebra" not in vocab and "cat" in vocab
    test_words = vocab.decode(corpus.test.tolist())
    assert "<unk>" in test_words  # the unseen word became <unk>
    n = len(corpus.train) + len(corpus.val) + len(corpus.test)
    assert n == 4 * 7 + 3 and len(corpus.test) == 3


def test_word_corpus_min_freq_drops_rare_training_words():
    text = "a a a b " * 10 + "rare c c c"
    assert "rare" not in word_corpus(text, min_freq=2).vocab
    assert "rare" in word_corpus(text + " rare rare", 0.01, 0.01, min_freq=1).vocab


def test_names_corpus_streams_start_with_the_boundary_and_keep_every_name():
    names = [f"n{chr(97 + i)}m" for i in range(20)]
    corpus = names_corpus(names, seed=3)
    vocab = corpus.vocab
    assert vocab.itos[0] == "." and len(vocab.specials) == 0
    streams = ["".join(vocab.decode(s.tolist())) for s in (corpus.train, corpus.val, corpus.test)]
    assert all(s.startswith(".") and s.endswith(".") for s in streams)
    seen = [n for s in streams for n in s.strip(".").split(".")]
    assert sorted(seen) == sorted(names)
    again = names_corpus(names, seed=3)
    assert torch.equal(again.train, corpus.train)  # the shuffle is seeded
    assert not torch.equal(names_corpus(names, seed=4).train, corpus.train)
