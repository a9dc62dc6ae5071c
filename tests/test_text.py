import numpy as np
import pytest
import torch

from rnnbook.text import IGNORE, Vocab, char_tokenize, pad, pad_collate, word_tokenize


def test_tokenizers():
    assert char_tokenize("ab c\n") == ["a", "b", " ", "c", "\n"]
    assert word_tokenize("Don't STOP, Romeo!") == ["don't", "stop", ",", "romeo", "!"]
    assert word_tokenize("Hi", lower=False) == ["Hi"]


def test_vocab_order_specials_and_unknowns():
    v = Vocab.build("b a b c b a".split(), min_freq=2)
    assert v.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "b", "a"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert len(v) == 6 and "a" in v and "c" not in v
    assert v.encode(["a", "c", "b"]) == [5, 1, 4]
    assert v.decode([4, 0, 5], skip_specials=True) == ["b", "a"]
    assert v.decode(torch.tensor([5, 4])) == ["a", "b"]
    assert v.counts["b"] == 3


def test_vocab_ties_are_alphabetical_and_max_size():
    v = Vocab.build(["z", "y", "x", "x"], max_size=2, specials=())
    assert v.itos == ["x", "y"]


def test_vocab_from_sequences_equals_flat():
    a = Vocab.build([["a", "b"], ["b"]])
    b = Vocab.build(["a", "b", "b"])
    assert a.itos == b.itos


def test_vocab_without_unk_raises_clearly():
    v = Vocab.build("abc", specials=())
    with pytest.raises(KeyError, match="no <unk>"):
        v.encode("abd")
    with pytest.raises(AttributeError, match="no <pad>"):
        _ = v.pad_id
    with pytest.raises(IndexError, match="outside the vocabulary"):
        v.decode([7])


def test_vocab_save_load_roundtrip(tmp_path):
    v = Vocab.build("the cat sat on the mat é".split())
    v.save(tmp_path / "v.json")
    w = Vocab.load(tmp_path / "v.json")
    assert w.itos == v.itos and w.specials == v.specials


def test_pad_returns_lengths():
    x, lengths = pad([[1, 2, 3], [4]], pad_id=9)
    assert x.tolist() == [[1, 2, 3], [4, 9, 9]] and lengths.tolist() == [3, 1]
    xt, _ = pad([[1, 2], [3]], batch_first=False)
    assert xt.shape == (2, 2) and xt[:, 1].tolist() == [3, 0]


def test_pad_rejects_empty_input():
    with pytest.raises(ValueError, match="empty batch"):
        pad([])
    with pytest.raises(ValueError, match="sequence in the batch is empty"):
        pad([[1], []])


def test_collate_class_labels_and_tag_sequences():
    x, lengths, y = pad_collate(0)([([1, 2], 1), ([3], 0)])
    assert y.tolist() == [1, 0] and lengths.tolist() == [2, 1]
    _, _, tags = pad_collate(0)([([1, 2], [5, 6]), ([3], [7])])
    assert tags.tolist() == [[5, 6], [7, IGNORE]]


def test_pad_rejects_float_ids_instead_of_truncating_them():
    for bad in ([1, 2.5], torch.tensor([1.0, 2.7]), np.array([1.0, 2.0]), [True, False]):
        with pytest.raises(ValueError, match="token ids must be integers"):
            pad([[1, 2], bad])
    with pytest.raises(ValueError, match="integers"):
        pad_collate(0)([([1, 2], torch.tensor(1.6)), ([3], torch.tensor(0.0))])
    with pytest.raises(ValueError, match="integers"):
        pad_collate(0)([([1, 2], [5.5, 6]), ([3], [7])])
    # lists of ints, integral numbers, NumPy integer arrays and int tensors all pass
    x, lengths = pad([[1, 2.0], np.array([3], dtype=np.int32), torch.tensor([4, 5, 6]),
                      torch.tensor([7], dtype=torch.uint8)])
    assert x.dtype == torch.long and x.tolist() == [[1, 2, 0], [3, 0, 0], [4, 5, 6], [7, 0, 0]]
    _, _, y = pad_collate(0)([([1], torch.tensor(2)), ([3], torch.tensor(0))])
    assert y.tolist() == [2, 0] and y.dtype == torch.long
    _, _, y = pad_collate(0)([([1], True), ([3], 0)])
    assert y.tolist() == [1, 0]
