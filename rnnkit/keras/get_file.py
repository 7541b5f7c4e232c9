"""``keras.utils.get_file`` for a library that downloads nothing at run time: Keras's cache layout (``cache_dir``,
default ``$KERAS_HOME`` or ``~/.keras``, then ``cache_subdir``), file names, hash checks (md5 or sha256) and archive
extraction (``extract``/``untar``: tar or zip into ``<name>_extracted``, Keras's folder, paths that would leave it
refused) — and the file itself taken from the cache, from a local path or a ``file://`` URL. A ``cache_dir`` that
does not exist yet is created (Keras falls back to ``/tmp/.keras`` then). A remote origin whose
file is not in the cache is an error that says where to put the file (fetched by you, by any means), so a script that
calls ``get_file`` runs offline once its data is in place."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from rnnkit.keras.io_utils import print_msg


def keras_home() -> str:
    return os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))


def _hasher(algorithm: str, file_hash=None):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=65535) -> str:
    hasher = _hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535) -> bool:
    return hash_file(fpath, _hasher(algorithm, file_hash), chunk_size) == str(file_hash)


def _local_source(origin: str) -> Path | None:
    """The local file an origin names (a path or a file:// URL), or None for a remote one."""
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path))
    if parts.scheme == "" or (len(parts.scheme) == 1 and os.name == "nt"):  # a path (a Windows drive letter)
        return Path(origin)
    return None


def _inside(root: Path, name: str) -> bool:
    target = (root / name).resolve()
    return target == root.resolve() or root.resolve() in target.parents


def extract_archive(file_path, path=".", archive_format="auto") -> bool:
    """Keras's ``extract_archive``: a tar (.tar, .tar.gz, .tar.bz2) or zip archive into ``path``; False when the file is
    none of ``archive_format``; a member that would land outside ``path`` is refused."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else [archive_format] if isinstance(archive_format, str) \
        else list(archive_format)
    root = Path(path)
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise NotImplementedError(kind)
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                bad = [m.name for m in archive.getmembers() if not _inside(root, m.name) or m.issym() or m.islnk()]
                if bad:
                    raise ValueError(f"{file_path}: archive member {bad[0]!r} would be written outside {path}")
                archive.extractall(root, filter="data")
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                bad = [n for n in archive.namelist() if not _inside(root, n)]
                if bad:
                    raise ValueError(f"{file_path}: archive member {bad[0]!r} would be written outside {path}")
                archive.extractall(root)
            return True
    return False


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """The cached (or extracted) file's path, as Keras's ``get_file`` returns it (module docstring)."""
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(cache_dir if cache_dir is not None else keras_home())
    if not os.access(base, os.W_OK) and os.path.exists(base):
        base = os.path.join("/tmp", ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    given = fname is not None and str(fname) != ""
    fname = str(fname) if given else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not fname:
        raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'.Please specify the `fname` "
                         "argument.")
    if os.sep in fname:
        raise ValueError(f"Paths are no longer accepted as the `fname` argument. To specify the file's parent "
                         f"directory, use the `cache_dir` argument. Received: fname={fname}")
    if extract or untar:
        if given and "." in fname:
            target, extraction_dir = os.path.join(datadir, fname), os.path.join(datadir, f"{fname[:fname.find('.')]}"
                                                                                       "_extracted")
        else:
            target, extraction_dir = os.path.join(datadir, f"{fname}_archive"), os.path.join(datadir, fname)
    else:
        target = os.path.join(datadir, fname)
    fetch = force_download or not os.path.exists(target)
    if not fetch and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        print_msg(f"A local file was found, but it seems to be incomplete or outdated because the {hash_algorithm} file "
                  f"hash does not match the original value of {file_hash} so we will re-download the data.")
        fetch = True
    if fetch:
        source = _local_source(origin)
        if source is None:
            raise RuntimeError(f"get_file: {origin} is not in the cache, and rnnkit downloads nothing at run time; "
                               f"fetch it yourself and save it as {target}, then call get_file again")
        if not source.is_file():
            raise FileNotFoundError(f"get_file: {source} (from origin {origin}) is not a file")
        print_msg(f"Copying data from {origin}")
        partial = target + ".part"
        shutil.copyfile(source, partial)
        os.replace(partial, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            os.remove(target)
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} file hash does not match "
                             f"the provided value of {file_hash}.")
    if extract or untar:
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            import warnings

            warnings.warn("Could not extract archive.", stacklevel=2)
        return extraction_dir
    return target


__all__ = ["get_file", "extract_archive", "hash_file", "validate_file"]
