"""seqae.datasets.benchmark: the fetchers of SMD, ASD, MGAB and TEP, and suite.py --download.

Nothing here touches the network: the fetch code runs against a local http.server on
127.0.0.1 (and file:// URLs) serving small fake copies laid out like the upstream repositories,
with checksum tables made for them. The tables of the real files are checked against the
reference copy in ../shared/datasets where it is present.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pickle
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from seqae.datasets import benchmark, fetch_benchmark_data, fetch_mgab, fetch_smd

from seqae.errors import DataError, ParameterError

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SEQAE_DATASETS") or REPO.parent / "shared" / "datasets")


def _load_suite():
    if "suite" not in sys.modules:
        sys.path.insert(0, str(REPO / "benchmarks"))  # suite imports skab and common by name
        spec = importlib.util.spec_from_file_location("suite", REPO / "benchmarks" / "suite.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["suite"] = module
        spec.loader.exec_module(module)
    return sys.modules["suite"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text(values: np.ndarray) -> bytes:
    rows = values.reshape(len(values), -1)
    return "".join(",".join(f"{v:.6f}" for v in row) + "\n" for row in rows).encode()


class FakeUpstream:
    """Small copies of the four upstream repositories under ``root``, and their sum tables."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[str, dict[str, str]] = {d: {} for d in ("smd", "asd", "mgab", "tep")}
        self.arrays: dict[str, dict[str, str]] = {"smd": {}, "asd": {}}
        self.expected: dict[str, dict[str, np.ndarray]] = {}
        rng = np.random.default_rng(0)
        self.put("smd", "LICENSE", b"MIT License (fake)\n", local="LICENSE")
        for machine in ("machine-1-2", "machine-2-8"):
            train = np.round(rng.random((60, 3)), 6)
            test = np.round(rng.random((80, 3)), 6)
            label = (np.arange(80) % 20 >= 15).astype(int)
            self.put("smd", f"train/{machine}.txt", _text(train))
            self.put("smd", f"test/{machine}.txt", _text(test))
            self.put("smd", f"test_label/{machine}.txt", "".join(f"{v}\n" for v in label).encode())
            interp = f"interpretation_label/{machine}.txt"
            self.put("smd", interp, b"15-20:1,3\n35-40:2\n", local=interp)
            self.expect("smd", machine, train, test, label)
        self.put("asd", "LICENSE", b"MIT License (fake asd)\n", local="LICENSE")
        types = "interpretation_label/anomaly_type.txt"
        self.put("asd", f"data/{types}", b"dataset,anomaly_segment,anomaly_type\n", local=types)
        for entity in ("omi-1", "omi-2"):
            train = rng.random((50, 4)).astype(np.float32)
            test = rng.random((70, 4)).astype(np.float32)
            label = (np.arange(70) % 10 == 0).astype(np.float64)  # upstream: float 0./1.
            for part, value in (("train", train), ("test", test), ("test_label", label)):
                self.put("asd", f"data/processed/{entity}_{part}.pkl", pickle.dumps(value))
            interp = f"interpretation_label/{entity}.txt"
            self.put("asd", f"data/{interp}", b"0-0:1\n10-10:2\n", local=interp)
            self.expect("asd", entity, train, test, label)
        rows = "".join(f"{i},{np.sin(i / 7):.12f},0,{int(i < 257)}\n" for i in range(26_000))
        self.put("mgab", "1.csv", (",value,is_anomaly,is_ignored\n" + rows).encode(), local="1.csv")
        self.put("mgab", "LICENSE", b"CC0 (fake)\n", local="LICENSE")
        for name, shape in (("d00", (3, 50)), ("d00_te", (200, 3)), ("d01_te", (200, 3))):
            text = _text(rng.random(shape)).replace(b",", b"   ")  # d00.dat: stored transposed
            self.put("tep", f"{name}.dat", text, local=f"{name}.dat")
        self.put("tep", "d11_te.dat", b"1 2 3\n" * 200, local="d11_te.dat")

    def put(self, dataset: str, path: str, content: bytes, local: str | None = None) -> None:
        up = benchmark.UPSTREAM[dataset]
        target = self.root / up.repo / up.commit / f"{up.folder}{path}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if local is not None:
            self.files[dataset][local] = _sha(content)

    def path(self, dataset: str, path: str) -> Path:
        up = benchmark.UPSTREAM[dataset]
        return self.root / up.repo / up.commit / f"{up.folder}{path}"

    def expect(self, dataset, name, train, test, label) -> None:
        arrays = {
            "train": np.asarray(train, np.float32),
            "test": np.asarray(test, np.float32),
            "label": np.asarray(label).astype(np.int8),
        }
        self.arrays[dataset][name] = benchmark.arrays_sha256(arrays)
        self.expected[name] = arrays


class _Handler(SimpleHTTPRequestHandler):
    cut: frozenset[str] = frozenset()  # paths whose body stops half way (Content-Length is full)

    def do_GET(self) -> None:
        if self.path in self.cut:
            body = Path(self.translate_path(self.path)).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    fake = FakeUpstream(tmp_path / "upstream")
    monkeypatch.setattr(benchmark, "FILE_SHA256", fake.files)
    monkeypatch.setattr(benchmark, "ARRAYS_SHA256", fake.arrays)
    return fake


@pytest.fixture
def server(upstream, monkeypatch):
    """A local http.server over the fake upstream; ``_RAW`` points at it."""
    handler = type("Handler", (_Handler,), {"cut": frozenset()})
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(upstream.root))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setattr(benchmark, "_RAW", handler.url)
    yield handler
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files of an atomic write (``.<name>.*.tmp``) anywhere under ``folder``."""
    return [p for p in folder.rglob("*") if p.name.startswith(".")]


def test_fetch_lays_out_what_the_suite_reads(server, upstream, tmp_path):
    suite = _load_suite()
    cache = tmp_path / "cache"
    lines: list[str] = []
    root = fetch_benchmark_data(["smd", "asd", "mgab", "tep"], cache, progress=lines.append)
    assert root == cache
    assert any("machine-1-2.npz converted" in line for line in lines)
    assert any("omi-2.npz converted" in line for line in lines)
    for dataset in ("smd", "asd"):
        for name, arrays in upstream.expected.items():
            if not (cache / dataset / f"{name}.npz").is_file():
                continue
            with np.load(cache / dataset / f"{name}.npz", allow_pickle=False) as npz:
                assert sorted(npz.files) == ["label", "test", "train"]
                for key, value in arrays.items():
                    assert npz[key].dtype == value.dtype
                    np.testing.assert_array_equal(npz[key], value)
    # the suite reads the fetched folder as it reads the reference copy
    smd = suite.load_dataset("smd", quick=True, data=cache)
    assert [s.name for s in smd] == ["machine-1-2", "machine-2-8"]
    np.testing.assert_array_equal(smd[0].train, upstream.expected["machine-1-2"]["train"])
    assert smd[0].interpretation == [(15, 20, (0, 2)), (35, 40, (1,))]
    asd = suite.load_dataset("asd", quick=True, data=cache)
    np.testing.assert_array_equal(asd[1].labels, upstream.expected["omi-2"]["label"])
    assert asd[0].interpretation == [(0, 1, (0,)), (10, 11, (1,))]  # ASD: end inclusive
    tep = suite.load_dataset("tep", quick=True, data=cache)
    assert [s.name for s in tep] == ["d01_te", "d11_te", "d00_te"]
    assert tep[0].train.shape == (50, 3) and tep[0].labels[160:].all()
    mgab = suite.load_dataset("mgab", quick=True, data=cache)
    assert mgab[0].train.shape == (2000, 1)
    assert (cache / "mgab" / "1.csv").read_bytes() == upstream.path("mgab", "1.csv").read_bytes()
    assert (cache / "smd" / "LICENSE").is_file() and (cache / "asd" / "LICENSE").is_file()
    assert not _leftovers(cache)


def test_a_second_fetch_reads_the_cache_and_repairs_it(server, upstream, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    fetch_benchmark_data(["smd", "mgab"], cache)
    npz = cache / "smd" / "machine-2-8.npz"
    before = npz.stat().st_mtime_ns
    monkeypatch.setattr(benchmark, "_RAW", (tmp_path / "offline").as_uri())
    lines: list[str] = []
    fetch_benchmark_data(["smd", "mgab"], cache, progress=lines.append)  # nothing to download
    assert lines == [] and npz.stat().st_mtime_ns == before
    (cache / "mgab" / "1.csv").write_text("altered\n")
    with pytest.raises(DataError, match=r"could not download MGAB 1\.csv .*\(offline\?\)"):
        fetch_mgab(cache)
    npz.write_bytes(b"PK\x03\x04 not a zip file any more")
    monkeypatch.setattr(benchmark, "_RAW", server.url)  # back online: altered files are fetched
    fetch_benchmark_data(["smd", "mgab"], cache, progress=lines.append)
    assert lines == [
        "smd: machine-2-8.npz converted from the text files, arrays checked",
        "mgab: 1.csv downloaded, SHA-256 checked",
    ]
    assert (cache / "mgab" / "1.csv").read_bytes() == upstream.path("mgab", "1.csv").read_bytes()
    with np.load(npz) as got:
        np.testing.assert_array_equal(got["test"], upstream.expected["machine-2-8"]["test"])


def test_file_urls_and_the_cache(upstream, tmp_path, monkeypatch):
    monkeypatch.setattr(benchmark, "_RAW", upstream.root.as_uri())
    cache = tmp_path / "cache"
    assert fetch_mgab(cache) == cache / "mgab"
    (cache / "mgab" / "1.csv").write_text("altered\n")  # an altered cache file is fetched again
    fetch_mgab(cache)
    assert (cache / "mgab" / "1.csv").read_bytes() == upstream.path("mgab", "1.csv").read_bytes()
    monkeypatch.setenv("SEQAE_DATA", str(tmp_path / "env"))
    fetch_smd(machines=["machine-2-8"])
    assert (tmp_path / "env" / "smd" / "machine-2-8.npz").is_file()
    assert not (tmp_path / "env" / "smd" / "machine-1-2.npz").exists()


def test_wrong_checksum_leaves_nothing(server, upstream, tmp_path):
    upstream.path("tep", "d01_te.dat").write_bytes(b"1.0 2.0 3.0\n")  # not what the table says
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"TEP d01_te\.dat .*SHA-256 mismatch") as e:
        fetch_benchmark_data(["tep"], cache)
    assert "github.com/camaramm/tennessee-eastman-profBraatz (commit 0643318)" in str(e.value)
    assert not (cache / "tep" / "d01_te.dat").exists()
    assert (cache / "tep" / "d00.dat").is_file()  # the files checked before it stay
    assert not _leftovers(cache)


def test_interrupted_download_leaves_nothing(server, upstream, tmp_path):
    up = benchmark.UPSTREAM["tep"]
    server.cut = frozenset({f"/{up.repo}/{up.commit}/d00_te.dat"})
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"d00_te\.dat .*stopped after [\d,]+ of [\d,]+ bytes"):
        fetch_benchmark_data(["tep"], cache)
    assert not (cache / "tep" / "d00_te.dat").exists()
    assert not _leftovers(cache)
    server.cut = frozenset()  # the next try completes it
    fetch_benchmark_data(["tep"], cache)
    assert (cache / "tep" / "d00_te.dat").read_bytes() == upstream.path(
        "tep", "d00_te.dat"
    ).read_bytes()


def test_interrupted_conversion_source_leaves_nothing(server, upstream, tmp_path):
    up = benchmark.UPSTREAM["smd"]
    server.cut = frozenset({f"/{up.repo}/{up.commit}/{up.folder}test/machine-1-2.txt"})
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"test/machine-1-2\.txt .*stopped after"):
        fetch_smd(cache)
    assert not (cache / "smd" / "machine-1-2.npz").exists()
    assert not _leftovers(cache)


def test_converted_arrays_are_checked(server, upstream, tmp_path):
    path = upstream.path("smd", "train/machine-2-8.txt")
    path.write_bytes(path.read_bytes().replace(b".", b".9", 1))  # one value changed
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"SMD machine-2-8: the arrays converted from .*not the "):
        fetch_smd(cache, machines=["machine-2-8"])
    assert not (cache / "smd" / "machine-2-8.npz").exists()
    assert not _leftovers(cache)


def test_a_failed_first_download_leaves_no_folder(upstream, tmp_path, monkeypatch):
    monkeypatch.setattr(benchmark, "_RAW", (tmp_path / "offline").as_uri())
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="could not download TEP"):
        fetch_benchmark_data(["tep"], cache)
    assert not cache.exists()  # an empty tep/ would look like a fetched copy to the suite


def test_a_pickle_can_only_build_arrays(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (os.mkdir, (str(tmp_path / "made"),))

    with pytest.raises(DataError, match=r"x\.pkl: not a pickled numpy array .*posix\.mkdir"):
        benchmark._unpickle_array(pickle.dumps(Sneaky()), "x.pkl")
    assert not (tmp_path / "made").exists()
    with pytest.raises(DataError, match="expected a numeric numpy array, got list"):
        benchmark._unpickle_array(pickle.dumps([1, 2]), "x.pkl")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for protocol in (2, 4, 5):
        np.testing.assert_array_equal(benchmark._unpickle_array(pickle.dumps(x, protocol), "x"), x)


def test_unknown_names_are_refused():
    with pytest.raises(ParameterError, match=r"unknown dataset\(s\) \['kdd'\]"):
        fetch_benchmark_data(["kdd"])
    with pytest.raises(ParameterError, match=r"unknown SMD machine\(s\) \['machine-1-1'\]"):
        fetch_smd(machines=["machine-1-1"])  # upstream has it; no recorded sum, so not fetched


def test_suite_reads_a_local_copy_and_fetches_only_the_rest(tmp_path, monkeypatch):
    suite = _load_suite()
    local = tmp_path / "local"
    (local / "tep").mkdir(parents=True)
    calls = []

    def fake_fetch(datasets, data_dir=None, *, progress=None):
        calls.append((list(datasets), data_dir))
        return tmp_path / "cache"

    monkeypatch.setattr(benchmark, "fetch_benchmark_data", fake_fetch)
    wanted = ["tep", "mgab", "synthetic"]
    assert suite.data_roots(wanted, local) == {d: local for d in wanted}
    assert calls == []  # no --download: nothing fetched
    roots = suite.data_roots(wanted, local, download=True)
    assert roots == {"tep": local, "mgab": tmp_path / "cache", "synthetic": local}
    assert calls == [(["mgab"], None)]
    suite.data_roots(wanted, local, download=True, into=tmp_path / "mine")
    assert calls[-1] == (["mgab"], tmp_path / "mine")


def test_suite_help_names_download():
    suite = _load_suite()
    assert suite.parse_args(["--download"]).download is True
    assert suite.parse_args([]).download is False


# ------------------------------------------------------------------ against the reference copy

needs_shared = pytest.mark.skipif(
    not (SHARED / "smd").is_dir(), reason=f"no reference copy at {SHARED}"
)


@needs_shared
@pytest.mark.parametrize("dataset", ["smd", "asd", "mgab", "tep"])
def test_recorded_sums_are_the_reference_copys(dataset):
    lines = (SHARED / dataset / "SHA256SUMS").read_text().split("\n")
    sums = dict(reversed(line.split()) for line in lines if line.strip())
    files = {p: s for p, s in sums.items() if not p.endswith(".npz")}
    assert benchmark.FILE_SHA256[dataset] == files
    if dataset in ("smd", "asd"):
        recorded = benchmark.ARRAYS_SHA256[dataset]
        assert sorted(recorded) == sorted(p[:-4] for p in sums if p.endswith(".npz"))
        for name, digest in recorded.items():
            with np.load(SHARED / dataset / f"{name}.npz", allow_pickle=False) as npz:
                assert benchmark.arrays_sha256(npz) == digest, name


@needs_shared
def test_conversion_reproduces_the_reference_arrays(tmp_path, monkeypatch):
    """Upstream-format files made from the reference arrays convert back to the recorded sums.

    SMD as 6-decimal text (SOURCE.md: every value survives ``'%.6f'`` -> float32), ASD as
    pickles of float32 values and float64 labels; checked against the real ARRAYS_SHA256.
    """
    up = FakeUpstream.__new__(FakeUpstream)
    up.root = tmp_path / "upstream"
    up.files = {d: {} for d in ("smd", "asd")}
    with np.load(SHARED / "smd" / "machine-2-8.npz") as npz:
        up.put("smd", "train/machine-2-8.txt", _text(npz["train"]))
        up.put("smd", "test/machine-2-8.txt", _text(npz["test"]))
        labels = "".join(f"{v}\n" for v in npz["label"]).encode()
        up.put("smd", "test_label/machine-2-8.txt", labels)
    for entity in ("omi-1", "omi-12"):
        with np.load(SHARED / "asd" / f"{entity}.npz") as npz:
            up.put("asd", f"data/processed/{entity}_train.pkl", pickle.dumps(npz["train"]))
            up.put("asd", f"data/processed/{entity}_test.pkl", pickle.dumps(npz["test"]))
            label = npz["label"].astype(np.float64)
            up.put("asd", f"data/processed/{entity}_test_label.pkl", pickle.dumps(label))
    for dataset, names in (("smd", ["machine-2-8"]), ("asd", ["omi-1", "omi-12"])):
        for name in ["LICENSE", *(f"interpretation_label/{n}.txt" for n in names)]:
            source = f"data/{name}" if dataset == "asd" and name != "LICENSE" else name
            up.put(dataset, source, (SHARED / dataset / name).read_bytes())
    types = "interpretation_label/anomaly_type.txt"
    up.put("asd", f"data/{types}", (SHARED / "asd" / types).read_bytes())
    monkeypatch.setattr(benchmark, "_RAW", up.root.as_uri())
    cache = tmp_path / "cache"
    fetch_smd(cache, machines=["machine-2-8"])
    benchmark.fetch_asd(cache, entities=["omi-1", "omi-12"])
    for dataset, name in (("smd", "machine-2-8"), ("asd", "omi-1"), ("asd", "omi-12")):
        with np.load(cache / dataset / f"{name}.npz") as got:
            assert benchmark.arrays_sha256(got) == benchmark.ARRAYS_SHA256[dataset][name]
        expected = (SHARED / dataset / "interpretation_label" / f"{name}.txt").read_bytes()
        assert (cache / dataset / "interpretation_label" / f"{name}.txt").read_bytes() == expected


@needs_shared
def test_byte_for_byte_sets_fetched_read_as_the_reference_copy(tmp_path, monkeypatch):
    """MGAB and TEP served (as links to the reference files) and checked with the real sums."""
    suite = _load_suite()
    up = FakeUpstream.__new__(FakeUpstream)
    up.root = tmp_path / "upstream"
    for dataset in ("mgab", "tep"):
        for name in benchmark.FILE_SHA256[dataset]:
            target = up.path(dataset, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(SHARED / dataset / name)
    monkeypatch.setattr(benchmark, "_RAW", up.root.as_uri())
    cache = fetch_benchmark_data(["mgab", "tep"], tmp_path / "cache")
    for dataset in ("mgab", "tep"):
        fetched = suite.load_dataset(dataset, quick=True, data=cache)
        reference = suite.load_dataset(dataset, quick=True, data=SHARED)
        assert [s.name for s in fetched] == [s.name for s in reference]
        for a, b in zip(fetched, reference, strict=True):
            np.testing.assert_array_equal(a.train, b.train)
            np.testing.assert_array_equal(a.test, b.test)
            np.testing.assert_array_equal(a.labels, b.labels)
