"""Downloads against a real HTTP server on 127.0.0.1 that the tests start; never the network."""
import gzip
import hashlib
import json
import lzma
import io
import os
import tarfile
import time
import zipfile

import pytest

from conftest import assert_one_line_error, run_cli
from httpserver import Server
from w2v import corpus, download
from w2v.download import NamedCorpus, Retry, fetch, resolve, unpack
from w2v.errors import W2VError

FAST = Retry(retries=3, backoff=0.01, timeout=(2.0, 2.0))
BODY = b"the quick brown fox jumps over the lazy dog\n" * 5000


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def _zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_download_succeeds_with_progress(tmp_path, server, capfd):
    url = server.add("/c.txt", body=BODY)
    path = fetch(url, str(tmp_path / "c.txt"), expected_size=len(BODY), retry=FAST)
    assert open(path, "rb").read() == BODY
    assert not os.path.exists(path + ".part")


def test_404_is_a_clear_error_and_nothing_is_cached(tmp_path, server):
    url = server.add("/gone", status=404)
    with pytest.raises(W2VError, match="HTTP 404.*gone"):
        fetch(url, str(tmp_path / "c.txt"), retry=FAST)
    assert os.listdir(tmp_path) == []
    assert len(server.requests) == 1  # a 4xx is not retried


def test_500_twice_then_200_succeeds_after_retries(tmp_path, server):
    url = server.add("/flaky", body=BODY, fail_first=2)
    fetch(url, str(tmp_path / "c.txt"), retry=FAST)
    assert (tmp_path / "c.txt").read_bytes() == BODY
    assert len(server.requests) == 3


def test_dropped_connection_resumes_with_range_and_is_byte_identical(tmp_path, server):
    url = server.add("/drop", body=BODY, drop_first=1)
    fetch(url, str(tmp_path / "c.txt"), expected_size=len(BODY), retry=FAST)
    assert (tmp_path / "c.txt").read_bytes() == BODY
    assert server.requests[0][1] is None
    resumed_at = int(server.requests[1][1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(BODY) // 2  # asked only for what it did not have


def test_server_ignoring_range_restarts_cleanly(tmp_path, server):
    url = server.add("/norange", body=BODY, drop_first=1, honour_range=False)
    fetch(url, str(tmp_path / "c.txt"), expected_size=len(BODY), retry=FAST)
    assert (tmp_path / "c.txt").read_bytes() == BODY
    assert server.requests[1][1] is not None  # it asked for a range and got the whole body


def test_redirects_are_followed(tmp_path, server):
    server.add("/c.txt", body=BODY)
    url = server.add("/old", redirect="/c.txt")
    fetch(url, str(tmp_path / "c.txt"), retry=FAST)
    assert (tmp_path / "c.txt").read_bytes() == BODY


def test_wrong_checksum_or_size_deletes_the_download(tmp_path, server):
    url = server.add("/c.txt", body=BODY)
    with pytest.raises(W2VError, match="sha256"):
        fetch(url, str(tmp_path / "c.txt"), sha256="0" * 64, retry=FAST)
    with pytest.raises(W2VError, match="expected 7"):
        fetch(url, str(tmp_path / "c.txt"), expected_size=7, retry=FAST)
    assert os.listdir(tmp_path) == []
    good = hashlib.sha256(BODY).hexdigest()
    fetch(url, str(tmp_path / "c.txt"), sha256=good, retry=FAST)
    assert (tmp_path / "c.txt").exists()


def test_stalled_server_times_out_within_the_configured_time(tmp_path, server):
    url = server.add("/stall", body=BODY, stall=30)
    start = time.monotonic()
    with pytest.raises(W2VError, match="timed out"):
        fetch(url, str(tmp_path / "c.txt"), retry=Retry(retries=1, backoff=0.01, timeout=(1.0, 0.5)))
    assert time.monotonic() - start < 5  # two attempts of 0.5 s, not 30 s


def test_only_http_and_https(tmp_path):
    for url in ["ftp://example.org/c.txt", "file:///etc/passwd"]:
        with pytest.raises(W2VError, match="only http and https"):
            resolve(url, home=str(tmp_path))


def test_zip_slip_is_refused(tmp_path):
    (tmp_path / "evil.zip").write_bytes(_zip({"ok.txt": b"fine", "../evil": b"gotcha"}))
    with pytest.raises(W2VError, match="outside"):
        unpack(str(tmp_path / "evil.zip"), str(tmp_path / "out"))
    assert not (tmp_path / "evil").exists() and not (tmp_path / "out" / "ok.txt").exists()


def test_zip_bomb_is_refused(tmp_path):
    (tmp_path / "bomb.zip").write_bytes(_zip({"zeros": b"\0" * 50_000_000}))
    assert os.path.getsize(tmp_path / "bomb.zip") < 100_000
    with pytest.raises(W2VError, match="200x"):
        unpack(str(tmp_path / "bomb.zip"), str(tmp_path / "out"))
    (tmp_path / "big.zip").write_bytes(_zip({"text": os.urandom(10_000)}))
    with pytest.raises(W2VError, match="max-bytes"):
        unpack(str(tmp_path / "big.zip"), str(tmp_path / "out"), max_bytes=5_000)
    assert not list((tmp_path / "out").iterdir())


def test_lying_size_header_is_caught_while_unpacking(tmp_path):
    data = bytearray(_zip({"a.txt": b"x" * 1000}))
    # shrink the declared size in both headers: the member really unpacks to more than it says
    for sig, offset in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)]:
        at = data.find(sig) + offset
        data[at:at + 4] = (10).to_bytes(4, "little")
    (tmp_path / "liar.zip").write_bytes(bytes(data))
    with pytest.raises(W2VError, match="liar.zip"):
        unpack(str(tmp_path / "liar.zip"), str(tmp_path / "out"))
    assert not (tmp_path / "out" / "a.txt").exists()


def test_tar_links_and_escapes_are_refused(tmp_path):
    for name, kind in [("link.tar.gz", tarfile.SYMTYPE), ("escape.tar.gz", tarfile.REGTYPE)]:
        with tarfile.open(tmp_path / name, "w:gz") as t:
            info = tarfile.TarInfo("../up.txt" if kind == tarfile.REGTYPE else "link")
            info.type = kind
            info.linkname = "/etc/passwd"
            t.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
        with pytest.raises(W2VError, match="refusing"):
            unpack(str(tmp_path / name), str(tmp_path / "out"))


def test_tar_xz_and_gz_unpack(tmp_path):
    body = os.urandom(20_000)  # incompressible: far from the 200x ratio limit
    with tarfile.open(tmp_path / "c.tar.xz", "w:xz") as t:
        info = tarfile.TarInfo("dir/c.txt")
        info.size = len(body)
        t.addfile(info, io.BytesIO(body))
    (path,) = unpack(str(tmp_path / "c.tar.xz"), str(tmp_path / "out"))
    assert open(path, "rb").read() == body
    (tmp_path / "d.txt.gz").write_bytes(gzip.compress(body))
    (path,) = unpack(str(tmp_path / "d.txt.gz"), str(tmp_path / "out2"))
    assert path.endswith("d.txt") and open(path, "rb").read() == body


def test_named_corpus_sst_is_parsed_into_sentences(tmp_path, server, monkeypatch):
    sentences = "sentence_index\tsentence\n1\tThe Rock is destined to be great .\n2\tA gorgeous film .\n"
    body = _zip({"stanfordSentimentTreebank/datasetSentences.txt": sentences,
                 "stanfordSentimentTreebank/README.txt": "readme"})
    url = server.add("/sst.zip", body=body)
    monkeypatch.setitem(download.CORPORA, "sst", NamedCorpus("sst", url, len(body),
                        "stanfordSentimentTreebank/datasetSentences.txt", "sst", "test"))
    path = resolve("sst", home=str(tmp_path), retry=FAST, quiet=True)
    assert open(path).read() == "The Rock is destined to be great .\nA gorgeous film .\n"
    assert resolve("sst", home=str(tmp_path), offline=True) == path  # cached: no network needed
    assert len(server.requests) == 1


def test_named_corpus_text8_member(tmp_path, server, monkeypatch):
    body = _zip({"text8": b" anarchism originated as a term"})
    url = server.add("/text8.zip", body=body)
    monkeypatch.setitem(download.CORPORA, "text8",
                        NamedCorpus("text8", url, len(body), "text8", "text", "test"))
    path = resolve("text8", home=str(tmp_path), retry=FAST, quiet=True)
    assert open(path).read() == " anarchism originated as a term"
    assert download.list_corpora(str(tmp_path))[0]["cached"]


def test_offline_without_cache_fails_clearly(tmp_path):
    with pytest.raises(W2VError, match="offline"):
        resolve("text8", home=str(tmp_path), offline=True)
    with pytest.raises(W2VError, match="offline"):
        resolve("http://127.0.0.1:9/c.txt", home=str(tmp_path), offline=True)


def test_cached_file_that_changed_is_detected(tmp_path, server):
    url = server.add("/c.txt", body=BODY)
    path = resolve(url, home=str(tmp_path), retry=FAST, quiet=True)
    with open(path, "ab") as f:
        f.write(b"tampered")
    with pytest.raises(W2VError, match="sha256 recorded"):
        resolve(url, home=str(tmp_path), offline=True)


def test_cli_train_on_a_url_and_then_offline(tmp_path, server, w2v_home):
    url = server.add("/corpus.txt", body=b"alpha beta gamma delta\n" * 400)
    out = tmp_path / "v.txt"
    proc = run_cli("train", "--corpus", url, "--out", out, "--min-count", 1, "--epochs", 1, "--dim", 8,
                   "--quiet")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("train", "--corpus", url, "--out", out, "--min-count", 1, "--epochs", 1, "--dim", 8,
                   "--quiet", "--offline")
    assert proc.returncode == 0, proc.stderr
    assert len(server.requests) == 1


def test_cli_download_of_a_zip_url_and_a_404(tmp_path, server):
    url = server.add("/texts.zip", body=_zip({"a/one.txt": "one two\n", "b/two.txt": "three\n"}))
    proc = run_cli("download", url, "--dir", tmp_path, "--quiet")
    assert proc.returncode == 0, proc.stderr
    unpacked = proc.stdout.strip()
    assert sorted(os.listdir(unpacked)) == ["a", "b"]
    line = assert_one_line_error(run_cli("download", server.add("/nope", status=404), "--dir", tmp_path))
    assert "HTTP 404" in line


# -- a URL never chooses where its file is written -----------------------------------------------

def _tree(root, skip=()):
    """Every path below root, but those below the `skip` directories."""
    found = set()
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if os.path.join(d, x) not in skip]
        found.update(os.path.join(d, n) for n in dirs + names)
    return found


def _vocab(vectors_txt):
    """The words of a text vector file (header line, then `word v1 v2 ...`)."""
    return {line.split(" ", 1)[0] for line in open(vectors_txt).read().splitlines()[1:]}


@pytest.mark.parametrize("name", ["absolute", "dotdot", "empty", "dot", "two dots", "slash inside"])
def test_a_url_cannot_write_outside_the_cache_and_trains_on_the_servers_bytes(tmp_path, server,
                                                                               w2v_home, name):
    outside = tmp_path / "outside" / "name.txt"
    outside.parent.mkdir()
    outside.write_text("local decoy words\n" * 50)  # what a hostile URL would make w2v read
    quoted = str(outside).replace("/", "%2F")
    # the cache file was home/corpora/urls/KEY/NAME, four levels below tmp_path's parent
    dotdot = f"/..%2F..%2F..%2F..%2F{tmp_path.name}%2Foutside%2Fname.txt"
    path = {"absolute": f"/{quoted}", "dotdot": dotdot, "empty": "/",
            "dot": "/.", "two dots": "/..", "slash inside": f"/dir%2F..%2F..{quoted}"}[name]
    server.add("*", body=b"served alpha beta\n" * 50)
    work = tmp_path / "work"
    work.mkdir()
    before = _tree(tmp_path, skip={str(w2v_home)})
    proc = run_cli("train", "--corpus", server.url(path), "--out", work / "v.txt", "--min-count", 1,
                   "--epochs", 1, "--dim", 4, "--quiet", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert _vocab(work / "v.txt") == {"served", "alpha", "beta"}
    assert _tree(tmp_path, skip={str(w2v_home)}) - before == {str(work / "v.txt"),
                                                              str(work / "v.txt.json")}
    assert outside.read_text() == "local decoy words\n" * 50
    assert all(p.startswith(tuple(str(w2v_home / d) for d in ("corpora", "ids", "kernels")))
               for p in _tree(w2v_home))
    (cached,) = [p for p in _tree(w2v_home / "corpora" / "urls") if os.path.isfile(p)]
    assert open(cached, "rb").read() == b"served alpha beta\n" * 50


@pytest.mark.parametrize("url, name", [
    ("http://h/%2Fetc%2Fpasswd", "passwd"), ("http://h/..%2F..%2Fx.txt", "x.txt"),
    ("http://h/", "download"), ("http://h/.", "download"), ("http://h/..", "download"),
    ("http://h/%2E%2E", "download"), ("http://h/a%5C..%5Cb.tar.gz", "b.tar.gz"),
    ("http://h/c.txt?x=%2F..", "c.txt"), ("http://h/we%20ird%00name.zip", "we_ird_name.zip"),
    ("http://h/" + "x" * 300 + ".tar.gz", "x" * 93 + ".tar.gz")])
def test_cached_names_are_one_safe_segment_keeping_the_suffix(url, name):
    assert download.cached_name(url) == name


def test_cli_download_of_an_escaping_url_stays_in_the_cache(tmp_path, server):
    server.add("*", body=b"served text\n")
    target = tmp_path / "escape.txt"
    proc = run_cli("download", server.url("/" + str(target).replace("/", "%2F")), "--dir",
                   tmp_path / "home", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = proc.stdout.strip()
    assert written.startswith(str(tmp_path / "home" / "corpora" / "urls") + os.sep)
    assert written.endswith(os.sep + "escape.txt") and open(written, "rb").read() == b"served text\n"
    assert not target.exists()


# -- archive corpora: downloaded or local, unpacked into the cache and trained on -------------------

TEXTS = {"texts/one.txt": b"apple banana cherry\n" * 30, "texts/sub/two.txt": b"delta echo\n" * 30}


def _tar(mode, members=TEXTS):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ARCHIVES = {"corpus.tar.gz": lambda: _tar("w:gz"), "corpus.tgz": lambda: _tar("w:gz"),
            "corpus.tar.bz2": lambda: _tar("w:bz2"), "corpus.tar.xz": lambda: _tar("w:xz"),
            "corpus.zip": lambda: _zip(TEXTS)}


def _train(spec, out, *extra, **kw):
    return run_cli("train", "--corpus", spec, "--out", out, "--min-count", 1, "--epochs", 1,
                   "--dim", 4, "--quiet", *extra, **kw)


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_an_archive_url_is_unpacked_and_trained_on(tmp_path, server, w2v_home, name):
    url = server.add(f"/{name}", body=ARCHIVES[name]())
    proc = _train(url, tmp_path / "v.txt")
    assert proc.returncode == 0, proc.stderr
    assert _vocab(tmp_path / "v.txt") == {"apple", "banana", "cherry", "delta", "echo"}
    assert json.loads((tmp_path / "v.txt.json").read_text())["tokens"] == 30 * 3 + 30 * 2


@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_a_local_archive_is_unpacked_into_the_cache_and_read(tmp_path, w2v_home, name):
    archive = tmp_path / "data" / name
    archive.parent.mkdir()
    archive.write_bytes(ARCHIVES[name]())
    stream = corpus.load_stream(resolve(str(archive)))
    assert stream.words == ["apple", "banana", "cherry", "delta", "echo"] and stream.tokens == 150
    assert os.listdir(archive.parent) == [name]  # unpacked into the cache, not beside the archive
    (unpacked,) = os.listdir(w2v_home / "corpora" / "local")
    assert os.path.isfile(w2v_home / "corpora" / "local" / unpacked / "unpacked" / "texts" / "one.txt")


def test_a_changed_local_archive_is_unpacked_again(tmp_path, w2v_home):
    archive = tmp_path / "c.tar.gz"
    archive.write_bytes(_tar("w:gz"))
    first = resolve(str(archive))
    archive.write_bytes(_tar("w:gz", {"new.txt": b"fresh words\n" * 10}))
    second = resolve(str(archive))
    assert first == second and os.listdir(second) == ["new.txt"]


def test_a_local_xz_file_is_read_like_gz(tmp_path):
    (tmp_path / "c.txt.xz").write_bytes(lzma.compress(b"xz words here\n" * 40))
    proc = _train(tmp_path / "c.txt.xz", tmp_path / "v.txt")
    assert proc.returncode == 0, proc.stderr
    assert _vocab(tmp_path / "v.txt") == {"xz", "words", "here"}


@pytest.mark.parametrize("member, problem", [("../escape.txt", "outside"),
                                             ("TMP/absolute.txt", "outside")])
def test_a_hostile_archive_url_is_refused_and_leaves_nothing(tmp_path, server, w2v_home, member,
                                                              problem):
    member = member.replace("TMP", str(tmp_path))
    url = server.add("/evil.tar.gz", body=_tar("w:gz", {"ok.txt": b"fine words\n",
                                                         member: b"gotcha\n"}))
    before = _tree(tmp_path, skip={str(w2v_home)})
    line = assert_one_line_error(_train(url, tmp_path / "v.txt"), code=1)
    assert problem in line and "evil.tar.gz" in line
    assert _tree(tmp_path, skip={str(w2v_home)}) == before
    assert not [p for p in _tree(w2v_home) if p.endswith((".unpacked", "ok.txt", "escape.txt"))]


def test_a_link_in_a_local_archive_is_refused(tmp_path, w2v_home):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        info = tarfile.TarInfo("link.txt")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(info)
    (tmp_path / "l.tgz").write_bytes(buf.getvalue())
    line = assert_one_line_error(_train(tmp_path / "l.tgz", tmp_path / "v.txt"), code=1)
    assert "link" in line and not (tmp_path / "v.txt").exists()
    assert not [p for p in _tree(w2v_home) if os.path.basename(p) in ("link.txt", "unpacked")]


def test_an_archive_bomb_url_is_refused(tmp_path, server, w2v_home):
    url = server.add("/bomb.tar.gz", body=_tar("w:gz", {"a.txt": b"a\n" * 5_000_000}))
    line = assert_one_line_error(_train(url, tmp_path / "v.txt"), code=1)
    assert "200x" in line and "bomb.tar.gz" in line
    line = assert_one_line_error(_train(url, tmp_path / "v.txt", "--max-bytes", 1000), code=1)
    assert "max-bytes" in line
    assert not [p for p in _tree(w2v_home) if p.endswith("a.txt")]


def test_a_malformed_url_is_one_line(tmp_path):
    line = assert_one_line_error(run_cli("download", "http://127.0.0.1:99999999/c.txt", "--dir",
                                         tmp_path, "--retries", 0), code=1)
    assert "cannot download" in line and not list(tmp_path.rglob("*.part"))


def test_cache_lists_downloads_and_unpacked_archives_and_clear_keeps_downloads(tmp_path, server,
                                                                                w2v_home):
    url = server.add("/corpus.tar.gz", body=_tar("w:gz"))
    local = tmp_path / "local.zip"
    local.write_bytes(_zip(TEXTS))
    for spec in (url, local):
        assert _train(spec, tmp_path / "v.txt").returncode == 0
    listing = run_cli("cache").stdout.splitlines()
    assert [line.split()[0] for line in listing] == ["ids", "ids", "download", "unpacked",
                                                     "unpacked", "total"]
    assert any(line.startswith("download") and line.endswith(url) for line in listing)
    assert any(line.startswith("unpacked") and line.endswith(url) for line in listing)
    assert any(line.startswith("unpacked") and line.endswith(str(local)) for line in listing)
    assert run_cli("cache", "--clear").returncode == 0
    listing = run_cli("cache").stdout.splitlines()
    assert [line.split()[0] for line in listing] == ["download", "total"]
    proc = _train(url, tmp_path / "v.txt", "--offline")  # unpacked again from the kept download
    assert proc.returncode == 0, proc.stderr
    assert len(server.requests) == 1
