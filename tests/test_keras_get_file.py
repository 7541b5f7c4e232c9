"""``keras.utils.get_file`` offline: for local (``file://``) origins the same cache paths, file names, extraction
folders and hash checks as Keras 3's own ``get_file`` (which fetches them with urlretrieve); a remote origin is served
from the cache when the file is there (a hash checked) and otherwise refused with where to put it — nothing is
downloaded; an archive member that would leave the extraction folder is refused."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402


@pytest.fixture()
def source(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.csv").write_text("a,b\n1,2\n")
    with tarfile.open(src / "pack.tar.gz", "w:gz") as t:
        t.add(src / "data.csv", arcname="inner/data.csv")
    with zipfile.ZipFile(src / "pack.zip", "w") as z:
        z.write(src / "data.csv", arcname="z/data.csv")
    return src


def layout(lib, home, **kwargs):
    home.mkdir()  # (Keras falls back to /tmp/.keras for a cache folder that does not exist yet; rnnkit creates it)
    path = lib.utils.get_file(cache_dir=str(home), **kwargs)
    files = sorted(os.path.relpath(os.path.join(r, n), home) for r, _, names in os.walk(home) for n in names)
    return os.path.relpath(path, home), files


def test_paths_names_extraction_and_hashes_are_keras(source, tmp_path):
    md5 = hashlib.md5((source / "data.csv").read_bytes()).hexdigest()
    sha = hashlib.sha256((source / "pack.zip").read_bytes()).hexdigest()
    url = f"file://{source}"
    cases = [{"origin": f"{url}/data.csv"}, {"fname": "mydata.csv", "origin": f"{url}/data.csv", "md5_hash": md5},
             {"origin": f"{url}/pack.tar.gz", "extract": True},
             {"fname": "pack.tar.gz", "origin": f"{url}/pack.tar.gz", "extract": True},
             {"fname": "packz", "origin": f"{url}/pack.zip", "extract": True, "file_hash": sha},
             {"origin": f"{url}/pack.tar.gz", "untar": True, "cache_subdir": "other"}]
    for i, kwargs in enumerate(cases):
        assert layout(rk, tmp_path / f"ours{i}", **kwargs) == layout(keras, tmp_path / f"theirs{i}", **kwargs), kwargs
    extracted = rk.utils.get_file(origin=f"{url}/pack.tar.gz", extract=True, cache_dir=str(tmp_path / "x"))
    assert open(os.path.join(extracted, "inner", "data.csv")).read() == "a,b\n1,2\n"


def test_a_remote_origin_comes_from_the_cache_or_is_refused(source, tmp_path):
    home = tmp_path / "home"
    origin = "https://example.org/files/data.csv"
    with pytest.raises(RuntimeError, match="downloads nothing.*datasets/data.csv"):
        rk.utils.get_file(origin=origin, cache_dir=str(home))
    (home / "datasets").mkdir(parents=True, exist_ok=True)
    (home / "datasets" / "data.csv").write_bytes((source / "data.csv").read_bytes())
    md5 = hashlib.md5((source / "data.csv").read_bytes()).hexdigest()
    assert rk.utils.get_file(origin=origin, cache_dir=str(home), md5_hash=md5) == str(home / "datasets" / "data.csv")
    with pytest.raises(RuntimeError, match="not in the cache"):  # the cached file fails its hash: fetching needed
        rk.utils.get_file(origin=origin, cache_dir=str(home), file_hash="0" * 64)


def test_a_wrong_hash_and_an_escaping_archive_are_refused(source, tmp_path):
    with pytest.raises(ValueError, match="hash does not match"):
        rk.utils.get_file(origin=f"file://{source}/data.csv", cache_dir=str(tmp_path / "h"), md5_hash="0" * 32)
    evil = source / "evil.tar"
    with tarfile.open(evil, "w") as t:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 3
        t.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ValueError, match="outside"):
        rk.utils.get_file(origin=f"file://{evil}", extract=True, cache_dir=str(tmp_path / "e"))
    assert not (tmp_path / "escaped.txt").exists()
