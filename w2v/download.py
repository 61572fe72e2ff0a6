"""Corpora over HTTP: named corpora and URLs, downloaded once into a cache, verified, unpacked safely.

    resolve("text8")                      -> a local path to train on, downloading on first use
    fetch(url, path, expected_size=...)   -> one verified download, resumable

A download streams to `NAME.part` with a progress bar, retries connection errors, timeouts and 5xx
answers with exponential backoff, resumes an interrupted body with an HTTP Range request (starting
over if the server ignores it), fails at once on a 4xx, checks the size and any sha256, and is
renamed into place only when it is whole. The sha256 of every finished download is recorded in a
manifest and checked again on later use. A URL's download is cached as
`corpora/urls/HASH/NAME`: HASH is the URL's sha256, NAME the last segment of its decoded path cut
down to a safe file name (see `cached_name`), so no URL can choose where its file is written.
Archives (tar, compressed or not, and zip), downloaded or local, are unpacked into the cache and
read as a directory corpus. Unpacking refuses members that would land outside the target
directory, links, and archives that expand past a limit (absolute, and relative to their packed
size), so a hostile archive cannot write elsewhere or fill the disk.

This module knows nothing of training; the only network access in w2v is here.
"""
import bz2
import gzip
import hashlib
import json
import lzma
import os
import re
import shutil
import sys
import tarfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from typing import Optional
from urllib.parse import unquote, urlparse

from tqdm import tqdm

from .atomic import atomic_write
from .corpus import MAX_BYTES, MAX_RATIO, build_directory, clean_stale_builds
from .home import default_home
from .errors import W2VError

BLOCK = 1 << 16
MAX_NAME = 100  # characters of a cached download's file name
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class NamedCorpus:
    name: str
    url: str
    size: Optional[int]  # bytes of the download, checked when known
    member: str  # the archive member that holds the text
    reader: str  # how to turn the member into one sentence a line: "text" or "sst"
    description: str


CORPORA = {c.name: c for c in [
    NamedCorpus("text8", "http://mattmahoney.net/dc/text8.zip", 31_344_016, "text8", "text",
                "the word2vec benchmark: 100M characters of cleaned English Wikipedia, one line"),
    NamedCorpus("sst", "http://nlp.stanford.edu/~socherr/stanfordSentimentTreebank.zip", None,
                "stanfordSentimentTreebank/datasetSentences.txt", "sst",
                "Stanford Sentiment Treebank: 11,855 movie-review sentences"),
]}


@dataclass
class Retry:
    """How hard to try: attempts after the first, backoff base (seconds), (connect, read) timeouts."""
    retries: int = 5
    backoff: float = 1.0
    timeout: tuple = (10.0, 60.0)


def corpora_dir(home=None):
    return os.path.join(home or default_home(), "corpora")


def _is_url(spec):
    return "://" in spec


def _check_scheme(url):
    scheme = urlparse(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise W2VError(f"only http and https URLs can be downloaded, not {scheme}: {url}")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Manifest:
    """sha256 and source of every finished download, kept in the cache as JSON and keyed by the
    download's path below the cache (two URLs may end in the same file name)."""

    def __init__(self, directory):
        self.directory = directory
        self.path = os.path.join(directory, "manifest.json")
        try:
            with open(self.path) as f:
                self.entries = json.load(f)
        except (OSError, ValueError):
            self.entries = {}
        if not isinstance(self.entries, dict):
            self.entries = {}

    def _name(self, path):
        return os.path.relpath(path, self.directory)

    def record(self, path, url):
        self.entries[self._name(path)] = {"url": url, "sha256": sha256_of(path),
                                          "size": os.path.getsize(path)}
        with atomic_write(self.path, "w", encoding="utf-8") as f:
            json.dump(self.entries, f, indent=1)

    def verify(self, path):
        """Raise W2VError if a cached download no longer has the sha256 recorded for it."""
        entry = self.entries.get(self._name(path))
        if entry and sha256_of(path) != entry["sha256"]:
            raise W2VError(f"{path} does not match the sha256 recorded when it was downloaded; "
                           "delete it to download it again")


def fetch(url, path, expected_size=None, sha256=None, retry=None, quiet=False):
    """Download url to path: streamed, resumable, retried, verified, renamed into place."""
    import requests  # only when downloading: importing it costs every run ~15 MB of memory
    _check_scheme(url)
    retry = retry or Retry()
    part = path + ".part"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    attempt = 0
    while True:
        try:
            _stream(url, part, retry.timeout, quiet)
            break
        except _Fatal as e:
            _remove(part)
            raise W2VError(str(e)) from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                _ServerError) as e:
            if attempt >= retry.retries:
                raise W2VError(f"download failed after {attempt + 1} attempts: {url}: "
                               f"{_describe(e, retry)}") from None
            time.sleep(retry.backoff * 2 ** attempt)
            attempt += 1
        except requests.RequestException as e:  # a malformed URL, too many redirects: final
            _remove(part)
            raise W2VError(f"cannot download {url}: {e}") from None
    size = os.path.getsize(part)
    if expected_size is not None and size != expected_size:
        _remove(part)
        raise W2VError(f"download of {url} has {size:,} bytes, expected {expected_size:,}; deleted")
    if sha256 is not None:
        got = sha256_of(part)
        if got != sha256.lower():
            _remove(part)
            raise W2VError(f"download of {url} has sha256 {got}, expected {sha256}; deleted")
    os.replace(part, path)
    return path


class _Fatal(Exception):
    """A failure that retrying will not mend (a 4xx answer)."""


class _ServerError(Exception):
    """A 5xx answer: worth retrying."""


def _describe(e, retry):
    import requests

    if isinstance(e, requests.Timeout) or "timed out" in str(e).lower():
        return f"timed out (connect {retry.timeout[0]} s, read {retry.timeout[1]} s)"
    if isinstance(e, _ServerError):
        return str(e)
    return f"connection failed ({type(e).__name__})"


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _stream(url, part, timeout, quiet):
    """One attempt: append to `part` from where it ends (Range), or start it over."""
    import requests

    have = os.path.getsize(part) if os.path.exists(part) else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with requests.get(url, headers=headers, stream=True, timeout=timeout) as r:
        if r.status_code == 416 and have:  # nothing left past what we have, or a stale .part
            _remove(part)
            raise _ServerError(f"HTTP 416 for a range of {url}; starting over")
        if 400 <= r.status_code < 500:
            raise _Fatal(f"HTTP {r.status_code} {r.reason} for {url}")
        if r.status_code >= 500:
            raise _ServerError(f"HTTP {r.status_code} {r.reason}")
        resumed = have and r.status_code == 206
        mode = "ab" if resumed else "wb"  # a 200 to a Range request: the server ignored it
        start = have if resumed else 0
        length = r.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        with open(part, mode) as f, tqdm(total=total, initial=start, unit="B", unit_scale=True,
                                         unit_divisor=1024, desc=os.path.basename(part)[:-5],
                                         disable=quiet, file=sys.stderr, leave=False) as bar:
            for block in r.iter_content(BLOCK):
                f.write(block)
                bar.update(len(block))
        if total is not None and os.path.getsize(part) < total:
            raise requests.ConnectionError("the body ended early")


# -- unpacking -------------------------------------------------------------------------------------

def _safe_target(root, name, archive):
    """The path a member of archive would be written to, or W2VError if it leaves root."""
    target = os.path.realpath(os.path.join(root, name))
    if os.path.isabs(name) or not target.startswith(os.path.realpath(root) + os.sep):
        raise W2VError(f"refusing {archive}: member {name!r} would be written outside the "
                       "directory it is unpacked into")
    return target


def _check_total(declared, packed, max_bytes, name):
    if declared > max_bytes:
        raise W2VError(f"refusing {name}: it would unpack to {declared:,} bytes, over the limit "
                       f"of {max_bytes:,} (--max-bytes)")
    if packed and declared > MAX_RATIO * packed:
        raise W2VError(f"refusing {name}: it would unpack to {declared:,} bytes from {packed:,}, "
                       f"over {MAX_RATIO}x its packed size")


def _copy_limited(src, dst_path, limit, name):
    """Copy a stream, stopping if it yields more than `limit` bytes (a lying size header)."""
    written = 0
    with atomic_write(dst_path, "wb") as out:
        for block in iter(lambda: src.read(1 << 20), b""):
            written += len(block)
            if written > limit:
                raise W2VError(f"refusing {name}: it unpacks to more than it declares")
            out.write(block)
    return written


def is_archive(path):
    """Whether a regular file is a zip or a tar file (compressed or not), by its content."""
    try:
        return os.path.isfile(path) and (zipfile.is_zipfile(path) or tarfile.is_tarfile(path))
    except (OSError, EOFError, lzma.LZMAError, zlib.error):
        return False


def unpack(archive, target, members=None, max_bytes=MAX_BYTES):
    """Unpack a zip, tar(.gz/.bz2/.xz), .gz or .bz2 file into target; returns the paths written.

    members: only these names (default: all). Raises W2VError, leaving nothing half-written,
    for members outside target, links, an archive that expands too far, or a damaged one.
    """
    try:
        return _unpack(archive, target, members, max_bytes)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, lzma.LZMAError, zlib.error) as e:
        raise W2VError(f"cannot unpack {os.path.basename(archive)}: {e}") from None


def _extract(entries, members, target, packed, max_bytes, name):
    """Check every chosen (member, size, problem, open) entry first, then write them all."""
    entries = [e for e in entries if members is None or e[0] in members]
    for member, _, problem, _ in entries:
        if problem:
            raise W2VError(f"refusing {name}: member {member!r} is {problem}")
        _safe_target(target, member, name)
    _check_total(sum(size for _, size, _, _ in entries), packed, max_bytes, name)
    written = []
    for member, size, _, open_member in entries:
        path = _safe_target(target, member, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open_member() as src:
            _copy_limited(src, path, size, name)
        written.append(path)
    return written


def _unpack(archive, target, members, max_bytes):
    packed = os.path.getsize(archive)
    name = os.path.basename(archive)
    os.makedirs(target, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            entries = [(i.filename, i.file_size,
                        "a symbolic link" if (i.external_attr >> 16) & 0o170000 == 0o120000 else None,
                        lambda i=i: z.open(i)) for i in z.infolist() if not i.is_dir()]
            written = _extract(entries, members, target, packed, max_bytes, name)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            entries = [(i.name, i.size, None if i.isfile() else "a link or a device",
                        lambda i=i: t.extractfile(i)) for i in t.getmembers() if not i.isdir()]
            written = _extract(entries, members, target, packed, max_bytes, name)
    elif name.endswith((".gz", ".bz2", ".xz")):
        opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[os.path.splitext(name)[1]]
        path = _safe_target(target, os.path.splitext(name)[0], name)
        limit = min(max_bytes, MAX_RATIO * packed)
        with opener(archive, "rb") as src:
            _copy_limited(src, path, limit, name)
        written = [path]
    else:
        raise W2VError(f"{name} is not an archive w2v can unpack (zip, tar, .gz, .bz2, .xz)")
    return written


# -- named corpora and URLs ------------------------------------------------------------------------

def _sst_sentences(src, dst):
    """datasetSentences.txt (a header, then `index<TAB>sentence`) -> one sentence a line."""
    with open(src, encoding="utf-8", errors="replace") as f, atomic_write(dst, "w", encoding="utf-8") as out:
        next(f, None)
        for line in f:
            _, _, sentence = line.rstrip("\n").partition("\t")
            if sentence.strip():
                out.write(sentence.strip() + "\n")


def corpus_path(name, home=None):
    """Where the named corpus's training text lives once it is downloaded and unpacked."""
    return os.path.join(corpora_dir(home), name, f"{name}.txt")


def resolve(spec, offline=False, home=None, sha256=None, retry=None, quiet=False,
            max_bytes=MAX_BYTES):
    """A corpus name, URL or local path -> a local path to read, downloading on first use."""
    if spec in CORPORA:
        return _named(CORPORA[spec], offline, home, retry, quiet, max_bytes)
    if _is_url(spec):
        return _url(spec, offline, home, sha256, retry, quiet, max_bytes)
    if is_archive(spec):
        return unpacked(spec, local_archive_dir(spec, home), max_bytes)
    return spec


def _named(c, offline, home, retry, quiet, max_bytes):
    final = corpus_path(c.name, home)
    directory = os.path.dirname(final)
    archive = os.path.join(directory, os.path.basename(urlparse(c.url).path))
    manifest = Manifest(corpora_dir(home))
    if os.path.exists(final):
        if os.path.exists(archive):
            manifest.verify(archive)
        return final
    if not os.path.exists(archive):
        if offline:
            raise W2VError(f"corpus {c.name} is not cached in {directory} and --offline forbids "
                           f"downloading it; run `w2v download {c.name}` first")
        fetch(c.url, archive, c.size, retry=retry, quiet=quiet)
        manifest.record(archive, c.url)
    else:
        manifest.verify(archive)
    (member,) = unpack(archive, os.path.join(directory, "unpacked"), [c.member], max_bytes)
    if c.reader == "sst":
        _sst_sentences(member, final)
    else:
        os.replace(member, final)
    shutil.rmtree(os.path.join(directory, "unpacked"), ignore_errors=True)
    return final


def cached_name(url):
    """The file name a URL's download is cached under: the last segment of its path, decoded
    (`%2F` too), with every run of characters other than letters, digits, `.`, `_` and `-` made
    `_`, without leading dots, and at most MAX_NAME characters (keeping its end, so `.tar.gz`
    stays); `download` if nothing is left. It never holds a separator and is never `.` or `..`."""
    last = re.split(r"[/\\]", unquote(urlparse(url).path))[-1]
    return _UNSAFE.sub("_", last)[-MAX_NAME:].lstrip(".") or "download"


def _url(url, offline, home, sha256, retry, quiet, max_bytes):
    _check_scheme(url)
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    directory = os.path.join(corpora_dir(home), "urls", key)
    path = os.path.join(directory, cached_name(url))
    manifest = Manifest(corpora_dir(home))
    if not os.path.exists(path):
        if offline:
            raise W2VError(f"{url} is not cached and --offline forbids downloading it")
        fetch(url, path, sha256=sha256, retry=retry, quiet=quiet)
        manifest.record(path, url)
    else:
        manifest.verify(path)
        if sha256 and sha256_of(path) != sha256.lower():
            raise W2VError(f"cached {path} does not have sha256 {sha256}")
    # NAME.unpacked: the directory holds one download, and NAME.part, NAME.unpacked and
    # NAME.unpacked.source are its only neighbours whatever NAME is
    return unpacked(path, f"{path}.unpacked", max_bytes) if is_archive(path) else path


def local_archive_dir(path, home=None):
    """Where a local archive is unpacked: named by the hash of its absolute path."""
    key = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:16]
    return os.path.join(corpora_dir(home), "local", key, "unpacked")


def _stamp(path):
    """What identifies an archive's content without reading it all (as corpus.py's cache keys)."""
    st = os.stat(path)
    return (f"{os.path.abspath(path)} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} "
            f"{st.st_dev}")


def unpacked(archive, target, max_bytes=MAX_BYTES):
    """The directory `target` holding the archive's files, unpacked again when the archive
    changed since; built under a temporary name and renamed, so it is whole or absent."""
    directory = os.path.dirname(target)
    stamp_path = f"{target}.source"
    stamp = _stamp(archive)
    try:
        with open(stamp_path, encoding="utf-8") as f:
            if f.read() == stamp and os.path.isdir(target):
                return target
    except OSError:
        pass
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        clean_stale_builds(directory)
        tmp = build_directory(directory)
        unpack(archive, tmp, max_bytes=max_bytes)
        if os.path.isdir(target):
            old = f"{tmp}-old"
            os.rename(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.rename(tmp, target)
        with atomic_write(stamp_path, "w", encoding="utf-8") as f:
            f.write(stamp)
    except BaseException as e:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise W2VError(f"cannot unpack {os.path.basename(archive)} into {directory}: "
                           f"{e.strerror or e}") from None
        raise
    return target


def list_corpora(home=None):
    """The named corpora, with whether each is cached here."""
    return [{"name": c.name, "size": c.size, "url": c.url, "description": c.description,
             "cached": os.path.exists(corpus_path(c.name, home))} for c in CORPORA.values()]


def _size(path):
    """Bytes of a file or of the files below a directory (0 for what vanished meanwhile)."""
    paths = [path] if not os.path.isdir(path) else [
        os.path.join(root, n) for root, _, names in os.walk(path) for n in names]
    total = 0
    for p in paths:
        try:
            total += os.lstat(p).st_size
        except OSError:
            pass
    return total


def cached_corpora(home=None):
    """What the download cache holds: dicts of kind ("download" or "unpacked"), path, bytes and
    source (a URL, a corpus name or a local archive)."""
    root = corpora_dir(home)
    manifest = Manifest(root)
    found = []
    for name in sorted(CORPORA):
        if os.path.isdir(os.path.join(root, name)):
            found.append({"kind": "download", "path": os.path.join(root, name), "source": name})
    recorded = lambda path: manifest.entries.get(os.path.relpath(path, root), {}).get("url")
    urls = os.path.join(root, "urls")
    for key in sorted(os.listdir(urls)) if os.path.isdir(urls) else []:
        for name in sorted(os.listdir(os.path.join(urls, key))):
            path = os.path.join(urls, key, name)
            if name.endswith(".unpacked") and os.path.isdir(path):
                found.append({"kind": "unpacked", "path": path,
                              "source": recorded(path.removesuffix(".unpacked"))})
            elif recorded(path):
                found.append({"kind": "download", "path": path, "source": recorded(path)})
    local = os.path.join(root, "local")
    for key in sorted(os.listdir(local)) if os.path.isdir(local) else []:
        path = os.path.join(local, key, "unpacked")
        if not os.path.isdir(path):
            continue
        try:
            with open(f"{path}.source", encoding="utf-8") as f:
                source = f.read().rsplit(" ", 5)[0]
        except OSError:
            source = None
        found.append({"kind": "unpacked", "path": path, "source": source})
    for entry in found:
        entry["bytes"] = _size(entry["path"])
    return found


def clear_unpacked(home=None):
    """Remove every unpacked archive (they are unpacked again when needed); downloads are kept.
    Returns the bytes freed."""
    freed = 0
    for entry in cached_corpora(home):
        if entry["kind"] == "unpacked":
            freed += entry["bytes"]
            shutil.rmtree(entry["path"], ignore_errors=True)
            _remove(f"{entry['path']}.source")
    return freed
