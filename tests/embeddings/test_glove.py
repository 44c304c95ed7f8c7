from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tweetsent.core.errors import UserError
from tweetsent.data.vocab import Vocab
from tweetsent.embeddings.glove import embedding_matrix, packaged_glove_6b_50d, read_glove_naive, read_glove_text

LINES = ["the 0.1 0.2 0.3", "cat 1.0 -1.0 0.5", "dog 2 3 4", "zebra 9 9 9"]


def glove_file(tmp_path: Path, suffix: str, lines: list[str] = LINES) -> Path:
    text = ("\n".join(lines) + "\n").encode()
    path = tmp_path / f"g{suffix}"
    if suffix == ".gz":
        path.write_bytes(gzip.compress(text))
    elif suffix == ".zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("g.txt", text)
    else:
        path.write_bytes(text)
    return path


@pytest.mark.parametrize("suffix", [".txt", ".gz", ".zip"])
def test_reads_only_wanted_words(tmp_path: Path, suffix: str) -> None:
    vectors = read_glove_text(glove_file(tmp_path, suffix), {"cat", "dog", "unicorn"})
    assert vectors.words == ["cat", "dog"]
    assert vectors.dim == 3
    np.testing.assert_array_equal(vectors.vectors, np.array([[1.0, -1.0, 0.5], [2, 3, 4]], dtype=np.float32))


def test_matches_the_naive_loader(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = [f"w{i} " + " ".join(f"{x:.5f}" for x in rng.normal(size=7)) for i in range(3000)]
    path = glove_file(tmp_path, ".txt", lines)
    naive = read_glove_naive(path)
    wanted = {f"w{i}" for i in range(0, 3000, 7)}
    fast = read_glove_text(path, wanted)
    assert set(fast.words) == wanted
    for word, vec in zip(fast.words, fast.vectors, strict=True):
        np.testing.assert_array_equal(vec, naive[word])


def test_wrong_dimension_names_the_line(tmp_path: Path) -> None:
    path = glove_file(tmp_path, ".txt", [*LINES[:2], "dog 2 3", LINES[3]])
    with pytest.raises(UserError) as info:
        read_glove_text(path, {"cat", "dog"})
    assert str(info.value) == f"{path}:3: expected a word and 3 values, found 2 values"
    # Lines of words we do not keep are never parsed, so they cannot stop the read.
    assert read_glove_text(path, {"cat"}).words == ["cat"]


def test_word_without_values_and_non_numbers(tmp_path: Path) -> None:
    path = glove_file(tmp_path, ".txt", [*LINES[:2], "dog", LINES[3]])
    with pytest.raises(UserError, match=r"g\.txt:3: expected a word and 3 values"):
        read_glove_text(path, {"dog"})
    path = glove_file(tmp_path, ".txt", [*LINES[:2], "dog 1 x 3"])
    with pytest.raises(UserError, match="a vector value is not a number"):
        read_glove_text(path, {"dog"})


def test_words_with_spaces_like_glove_840b(tmp_path: Path) -> None:
    # glove.840B has "words" with spaces inside; their first field must not pass for the real word.
    path = glove_file(tmp_path, ".txt", [LINES[0], ". . . 7 8 9", ". 1 2 3", LINES[1]])
    vectors = read_glove_text(path, {".", "cat"})
    assert vectors.words == [".", "cat"]
    assert vectors.vectors.tolist() == [[1, 2, 3], [1.0, -1.0, 0.5]]


def test_crlf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"a 1 2\r\nb 3 4\r\n")
    assert read_glove_text(path, {"b"}).vectors.tolist() == [[3, 4]]


def test_packaged_glove_6b_50d() -> None:
    vectors = packaged_glove_6b_50d(["the", "qqqzzzxxx", ":)", "n't"])
    assert vectors.words == ["the", ":)", "n't"]
    assert vectors.vectors.shape == (3, 50)
    assert np.abs(vectors.vectors).sum(axis=1).min() > 0


def small_vocab() -> Vocab:
    tokens = pa.array([["the", "cat", "sat"], ["the", "cat"], ["the"]])
    return Vocab.build(tokens)


def test_embedding_matrix_cached_and_seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = small_vocab()  # <pad> <unk> the cat sat
    path = glove_file(tmp_path, ".txt")
    first = embedding_matrix(vocab, str(path), tmp_path / "cache", tmp_path, seed=5)
    assert first.found.tolist() == [False, False, True, True, False]
    assert first.matrix[0].tolist() == [0, 0, 0]  # padding
    np.testing.assert_allclose(first.matrix[vocab.words.index("cat")], [1.0, -1.0, 0.5])
    types, tokens = first.coverage(vocab)
    assert types == pytest.approx(2 / 3) and tokens == pytest.approx(5 / 6)
    # The second call must come from the cache, not from the GloVe file.
    monkeypatch.setattr("tweetsent.embeddings.glove.read_glove_text", lambda *a: pytest.fail("re-read the file"))
    second = embedding_matrix(vocab, str(path), tmp_path / "cache", tmp_path, seed=5)
    np.testing.assert_array_equal(first.matrix, second.matrix)
    assert second.found.tolist() == first.found.tolist()
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".npy")


def test_oov_rows_depend_on_seed_only(tmp_path: Path) -> None:
    vocab = small_vocab()
    path = glove_file(tmp_path, ".txt")
    a = embedding_matrix(vocab, str(path), tmp_path / "a", tmp_path, seed=1).matrix
    b = embedding_matrix(vocab, str(path), tmp_path / "b", tmp_path, seed=1).matrix
    c = embedding_matrix(vocab, str(path), tmp_path / "c", tmp_path, seed=2).matrix
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[4], c[4])


def test_default_embeddings_are_packaged(tmp_path: Path) -> None:
    matrix = embedding_matrix(small_vocab(), "glove.6B.50d", tmp_path / "cache", tmp_path / "glove")
    assert matrix.dim == 50 and matrix.found.tolist() == [False, False, True, True, True]
    again = embedding_matrix(small_vocab(), "glove.6B.50d", tmp_path / "cache", tmp_path / "glove")
    np.testing.assert_array_equal(matrix.matrix, again.matrix)


def test_unknown_name_and_offline_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="unknown embeddings 'word2vec'"):
        embedding_matrix(small_vocab(), "word2vec", tmp_path, tmp_path)
    with pytest.raises(UserError, match=r"glove\.6B has dimensions 50, 100, 200, 300, not 64"):
        embedding_matrix(small_vocab(), "glove.6B.64d", tmp_path, tmp_path)
    monkeypatch.setattr("tweetsent.embeddings.glove._STANFORD", "http://127.0.0.1:9/")
    with pytest.raises(UserError) as info:
        embedding_matrix(small_vocab(), "glove.42B.300d", tmp_path, tmp_path / "g")
    assert "download of http://127.0.0.1:9/glove.42B.300d.zip failed" in str(info.value)
    assert f"put glove.42B.300d.txt (or glove.42B.300d.zip) in {tmp_path / 'g'}" in str(info.value)


def test_file_in_glove_dir_is_found_by_name(tmp_path: Path) -> None:
    lines = ["the " + " ".join(["0.5"] * 25)]
    (tmp_path / "glove.twitter.27B.25d.txt").write_text("\n".join(lines) + "\n")
    matrix = embedding_matrix(small_vocab(), "glove.twitter.27B.25d", tmp_path / "c", tmp_path)
    assert matrix.dim == 25 and matrix.found.sum() == 1


def test_stanford_zip_downloaded_and_dimension_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import http.server
    import threading

    from tests.data.test_download import RangeHandler

    archive = tmp_path / "glove.6B.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("glove.6B.100d.txt", "the " + " ".join(["0.25"] * 100) + "\n")
        zf.writestr("glove.6B.200d.txt", "the " + " ".join(["0.5"] * 200) + "\n")
    RangeHandler.files = {"/glove.6B.zip": archive.read_bytes()}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr("tweetsent.embeddings.glove._STANFORD", f"http://127.0.0.1:{httpd.server_address[1]}/")
        matrix = embedding_matrix(small_vocab(), "glove.6B.100d", tmp_path / "c", tmp_path / "glove")
    finally:
        httpd.shutdown()
    assert matrix.dim == 100 and matrix.matrix[2].tolist() == [0.25] * 100
    assert (tmp_path / "glove" / "glove.6B.100d.txt").is_file()


@pytest.mark.parametrize("suffix", [".txt", ".gz", ".zip"])
@pytest.mark.parametrize("block", [7, 64, 1000])
def test_block_boundaries_do_not_matter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, block: int
) -> None:
    rng = np.random.default_rng(1)
    lines = [f"w{i} " + " ".join(f"{x:.3f}" for x in rng.normal(size=4)) for i in range(300)]
    path = glove_file(tmp_path, suffix, lines)
    expected = read_glove_text(path, {f"w{i}" for i in range(0, 300, 3)})
    monkeypatch.setattr("tweetsent.embeddings.glove.BLOCK", block)
    got = read_glove_text(path, {f"w{i}" for i in range(0, 300, 3)})
    assert got.words == expected.words == [f"w{i}" for i in range(0, 300, 3)]
    np.testing.assert_array_equal(got.vectors, expected.vectors)


def test_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "g.txt"
    path.write_bytes(b"a 1 2\nb 3 4")
    assert read_glove_text(path, {"a", "b"}).vectors.tolist() == [[1, 2], [3, 4]]
