"""Training from Python as a gensim user does: token lists in, vectors out, no file unless asked;
a Model that keeps U and the counts, saves, loads and trains further on the same vocabulary."""
import json
import os
import tempfile

import numpy as np
import pytest

from conftest import assert_one_line_error, planted_corpus, run_cli
from w2v import Model, SettingError, TrainConfig, TrainingInterrupted, W2VError, train

SMALL = dict(dim=16, min_count=1, epochs=1, threads=1, window=2, seed=3)


@pytest.fixture
def text(tmp_path):
    """A planted corpus (lowercase already) and its sentences as token lists."""
    path = tmp_path / "c.txt"
    groups = planted_corpus(path, sentences=1500)
    return path, [line.split() for line in path.read_text().splitlines()], groups


def test_token_lists_give_the_bytes_of_the_same_text_in_a_file(text, tmp_path):
    path, sentences, _ = text
    config = TrainConfig(corpus=str(path), out=str(tmp_path / "v.bin"), **SMALL)
    from_file = train(config, quiet=True)
    from_list = train(sentences, quiet=True, **SMALL)
    assert from_list.words == from_file.words
    assert from_list.matrix.tobytes() == from_file.matrix.tobytes()


def test_a_one_shot_generator_trains_every_epoch(text, tmp_path):
    path, sentences, _ = text
    settings = {**SMALL, "epochs": 2}
    from_file = train(TrainConfig(corpus=str(path), out=str(tmp_path / "v.bin"), **settings),
                      quiet=True)
    from_generator = train((s for s in sentences), quiet=True, **settings)
    assert from_generator.matrix.tobytes() == from_file.matrix.tobytes()
    assert len(from_generator.stats["epoch_costs"]) == 2


def test_tokens_are_used_as_given_not_lowercased(tmp_path):
    vectors = train([["The", "the", "THE"]] * 5, quiet=True, **SMALL)
    assert sorted(vectors.words) == ["THE", "The", "the"]


def test_sentences_longer_than_10000_tokens_are_cut_and_all_kept():
    vectors = train([[f"w{i % 7}" for i in range(25_000)]], quiet=True, **SMALL)
    assert vectors.stats["tokens"] == 25_000


def test_out_none_writes_no_file_anywhere(text, tmp_path, monkeypatch, w2v_home):
    _, sentences, _ = text
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir(), tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    vectors = train(sentences, quiet=True, **SMALL)
    assert len(vectors) == len(vectors.matrix) > 0
    assert os.listdir(cwd) == [] and os.listdir(tmp) == []
    assert os.listdir(w2v_home / "ids") == []  # the sentences' id stream is removed after the run


def test_a_path_given_to_train_writes_no_file_unless_out_is_given(text, tmp_path, monkeypatch):
    path, _, _ = text
    monkeypatch.chdir(tmp_path)
    train(str(path), quiet=True, **SMALL)
    assert sorted(os.listdir(tmp_path)) == ["c.txt"]
    train(str(path), quiet=True, out="v.txt", **SMALL)
    assert sorted(os.listdir(tmp_path)) == ["c.txt", "v.txt", "v.txt.json"]


def test_a_pathlib_path_is_a_corpus_path(text):
    path, sentences, _ = text
    assert train(path, quiet=True, **SMALL).matrix.tobytes() == \
        train(sentences, quiet=True, **SMALL).matrix.tobytes()


def test_the_sidecar_records_that_the_corpus_was_sentences(text, tmp_path):
    _, sentences, _ = text
    train(sentences, quiet=True, out=str(tmp_path / "v.bin"), **SMALL)
    settings = json.loads((tmp_path / "v.bin.json").read_text())["settings"]
    assert settings["corpus"] == "<sentences given in Python>"
    assert settings["lowercase"] is False


def test_a_str_where_a_sentence_was_expected_is_refused_in_one_line():
    with pytest.raises(W2VError) as e:
        train(["the cat sat", "a dog ran"], quiet=True, **SMALL)
    assert str(e.value).startswith("each sentence must be a list of tokens, got a str")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("sentence, says", [(["a", 1], "each token must be a str, got int"),
                                            (["a", "b c"], "'b c' is empty or holds whitespace"),
                                            (["a", ""], "'' is empty or holds whitespace")])
def test_tokens_that_a_file_could_not_hold_are_refused(sentence, says):
    with pytest.raises(W2VError, match=says):
        train([["x", "y"], sentence], quiet=True, **SMALL)


def test_a_gensim_setting_name_points_to_w2vs(text):
    with pytest.raises(SettingError, match="vector_size is not a training setting: w2v calls it "
                                           "dim"):
        train(text[1], vector_size=50)


def test_lowercase_is_refused_for_sentences_given_as_they_are(text):
    with pytest.raises(SettingError, match="used as given"):
        train(text[1], lowercase=True)


def test_a_stop_without_a_checkpoint_path_says_nothing_was_saved(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TrainingInterrupted, match="nothing saved") as e:
        train(text[1], quiet=True, stop_when=lambda epoch, chunk: True, **SMALL)
    assert e.value.checkpoint is None
    assert sorted(os.listdir(tmp_path)) == ["c.txt"]


def test_resuming_sentences_needs_the_same_sentences(text, tmp_path):
    _, sentences, _ = text
    settings = {**SMALL, "epochs": 2, "chunk_words": 1000}
    straight = train(sentences, quiet=True, **settings)
    ckpt = str(tmp_path / "run.ckpt")
    with pytest.raises(TrainingInterrupted):
        train(sentences, quiet=True, checkpoint=ckpt, stop_when=lambda e, c: (e, c) == (1, 2),
              **settings)
    with pytest.raises(W2VError, match="another corpus"):
        train(sentences[:-1], quiet=True, resume=ckpt)
    with pytest.raises(W2VError, match="pass the same sentences again"):
        train(TrainConfig(resume=ckpt), quiet=True)
    resumed = train(iter(sentences), quiet=True, resume=ckpt)
    assert resumed.matrix.tobytes() == straight.matrix.tobytes()


def test_the_cli_refuses_to_resume_a_run_on_sentences_in_one_line(text, tmp_path):
    ckpt = str(tmp_path / "run.ckpt")
    with pytest.raises(TrainingInterrupted):
        train(text[1], quiet=True, checkpoint=ckpt, stop_when=lambda e, c: True, **SMALL)
    proc = run_cli("train", "-q", "--resume", ckpt, "--out", tmp_path / "v.bin")
    line = assert_one_line_error(proc, 1)
    assert "pass the same sentences again" in line


def test_model_keeps_the_vectors_train_returns_and_u(text):
    _, sentences, _ = text
    model = Model(sentences, quiet=True, **SMALL)
    vectors = train(sentences, quiet=True, **SMALL)
    assert model.wv is model.vectors
    assert model.wv.matrix.tobytes() == vectors.matrix.tobytes()
    assert model.outside.words == model.wv.words == model.vocab.words
    assert model.outside.matrix.shape == model.wv.matrix.shape
    assert np.abs(model.outside.matrix).max() > 0  # U trained from zeros
    assert model.vocab.counts.sum() == sum(map(len, sentences))


def test_model_save_and_load_round_trip(text, tmp_path):
    _, sentences, _ = text
    model = Model(sentences, quiet=True, **SMALL)
    model.save(str(tmp_path / "m.ckpt"))
    loaded = Model.load(str(tmp_path / "m.ckpt"))
    assert loaded.wv.words == model.wv.words
    assert loaded.wv.matrix.tobytes() == model.wv.matrix.tobytes()
    assert loaded.outside.matrix.tobytes() == model.outside.matrix.tobytes()
    np.testing.assert_array_equal(loaded.vocab.counts, model.vocab.counts)
    assert loaded.config == model.config


def test_continuing_a_loaded_model_gives_the_bytes_of_continuing_the_original(text, tmp_path):
    _, sentences, _ = text
    model = Model(sentences[:700], quiet=True, **SMALL)
    model.save(str(tmp_path / "m.ckpt"))
    loaded = Model.load(str(tmp_path / "m.ckpt"))
    model.train(sentences[700:], quiet=True)
    loaded.train(iter(sentences[700:]), quiet=True)
    assert loaded.wv.matrix.tobytes() == model.wv.matrix.tobytes()
    assert loaded.outside.matrix.tobytes() == model.outside.matrix.tobytes()


def test_continuing_starts_from_the_models_vectors(text):
    _, sentences, _ = text
    model = Model(sentences, quiet=True, **SMALL)
    V, U = model.wv.matrix.copy(), model.outside.matrix.copy()
    model.train(sentences, alpha=0.0, min_alpha=0.0, quiet=True)  # a rate of 0 changes nothing
    assert model.wv.matrix.tobytes() == V.tobytes()
    assert model.outside.matrix.tobytes() == U.tobytes()


def test_continuing_learns_from_the_new_text(text):
    _, sentences, groups = text
    model = Model(sentences, quiet=True, **{**SMALL, "epochs": 3, "sample": 0})
    newcomer, group_0, group_1 = groups[0][0], groups[0][1:], groups[1][1:]

    def leaning_to_group_1():
        return (np.mean([model.wv.similarity(newcomer, w) for w in group_1]) -
                np.mean([model.wv.similarity(newcomer, w) for w in group_0]))

    assert leaning_to_group_1() < -0.3
    moved = [[newcomer if w == groups[1][0] else w for w in s]
             for s in sentences if newcomer not in s]  # the newcomer fills only group 1's frames
    model.train(moved, epochs=3, quiet=True)
    assert leaning_to_group_1() > 0.3


def test_continuing_ignores_new_words_and_keeps_the_vocabulary(text, capsys):
    _, sentences, _ = text
    model = Model(sentences, **SMALL, quiet=True)
    words, counts = list(model.vocab.words), model.vocab.counts.copy()
    model.train(sentences[:50] + [["unheard", "of"]])
    assert model.wv.words == words and "unheard" not in model.wv
    np.testing.assert_array_equal(model.vocab.counts, counts)
    assert "2 of the" in capsys.readouterr().err  # the two new tokens, said ignored


def test_continuing_refuses_a_setting_that_fixes_the_vocabulary(text):
    model = Model(text[1], quiet=True, **SMALL)
    with pytest.raises(SettingError, match="dim cannot change"):
        model.train(text[1], dim=32)


def test_continuing_on_text_with_no_known_word_is_refused(text):
    model = Model(text[1], quiet=True, **SMALL)
    with pytest.raises(W2VError, match="none of the words of the new text"):
        model.train([["entirely", "new", "words"]], quiet=True)
