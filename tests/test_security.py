"""Serving safely: no open address without a password, no file opened from a request, no file served but exports.

The handler tests use the fake embedder.  The file-endpoint tests serve the
chat in-process (fake embedder, as ``cableqa serve`` builds it); the
``--host 0.0.0.0 --auth`` test runs the real ``cableqa serve`` (real model)
on a free port and stops it by its PID.
"""

from __future__ import annotations

import builtins
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cableqa import indexer, ui
from cableqa.cables import Report
from cableqa.search import Searcher

from conftest import SEED, FakeEmbedder

ATTACKS = ["../../etc/passwd", "/etc/passwd", "file:///etc/passwd", "05ALMATY4281/../../x", "~/.ssh/id_rsa",
           "05ALMATY4281' OR '1'='1", "\\\\server\\share\\x", "%2e%2e%2fetc%2fpasswd"]
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("CABLEQA_")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(tmp: Path) -> dict:
    return {**CLEAN_ENV, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(tmp),
            "GRADIO_TEMP_DIR": str(tmp / "gradio")}


@pytest.fixture(scope="module")
def gradio_tmp(tmp_path_factory):
    """Gradio's file cache, and gradio_client's downloads, in tmp."""
    import tempfile

    path = tmp_path_factory.mktemp("gradio")
    saved = os.environ.get("GRADIO_TEMP_DIR"), tempfile.tempdir
    os.environ["GRADIO_TEMP_DIR"] = str(path / "cache")
    tempfile.tempdir = str(path)
    yield path
    if saved[0] is None:
        os.environ.pop("GRADIO_TEMP_DIR", None)
    else:
        os.environ["GRADIO_TEMP_DIR"] = saved[0]
    tempfile.tempdir = saved[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """An index of the seed (fake embedder) and the chat handlers over it."""
    root = tmp_path_factory.mktemp("site")
    indexer.run([SEED], root / "ix", lambda manifest: FakeEmbedder(), report=Report())
    chat = ui.ChatUI(ui.Engine(Searcher(root / "ix", embedder=FakeEmbedder())), root / "exports")
    return root, chat


# -- (b) nothing in a request names a file that is opened -------------------------------------

@pytest.fixture
def opened(monkeypatch):
    """Every path opened through Python while the test runs."""
    seen: list[str] = []

    def spy(real):
        def wrapper(file, *args, **kwargs):
            seen.append(os.fspath(file) if isinstance(file, (str, bytes, os.PathLike)) else repr(file))
            return real(file, *args, **kwargs)
        return wrapper

    for module in (builtins, io, os):
        monkeypatch.setattr(module, "open", spy(module.open))
    return seen


@pytest.mark.parametrize("attack", ATTACKS)
def test_handlers_open_no_path_from_a_request(site, opened, attack):
    root, chat = site
    (root / "ix" / "CURRENT").read_text()  # control: the spy sees a Path read
    assert opened.pop().endswith("CURRENT")
    view, understood = chat.open_cable(attack)
    assert "root:x:" not in view
    if understood.startswith("05ALMATY4281"):  # the id prefix names an indexed cable: that, from the index
        assert 'data-cable="05ALMATY4281"' in view
    else:
        assert "cq-para" not in view
    messages, _, _, _ = chat.ask(attack, [], (), origin=attack, tags=attack)
    messages, _, _, _ = chat.ask(f"What does {attack} say?", messages, ())
    assert all("root:x:" not in m["content"] for m in messages)
    index_dir = (root / "ix").resolve()
    outside = [p for p in opened if not Path(p).resolve().is_relative_to(index_dir)]
    assert not outside, f"opened outside the index: {outside}"


# -- (c) the file endpoint serves exports, nothing else ---------------------------------------

@pytest.fixture(scope="module")
def served(site, gradio_tmp):
    """The chat served in-process on loopback, exports allowed as ``cableqa serve`` allows them."""
    root, chat = site
    demo = ui.build_app(chat)
    port = free_port()
    ui.launch(demo, port=port, allowed=[chat.export_dir], block=False, quiet=True)
    yield root, chat, f"http://127.0.0.1:{port}"
    demo.close()


def test_file_endpoint_serves_no_arbitrary_file(served):
    root, chat, url = served
    secret = root / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    _, _, turns, _ = chat.ask("Who suspected violence?", [], ())
    export_md = chat.export(turns)[0]
    probes = ["/etc/passwd", "%2Fetc%2Fpasswd", "//etc/passwd", "..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
              "file:///etc/passwd", str(secret), f"{chat.export_dir}/../secret.txt",
              f"{chat.export_dir}/..%2Fsecret.txt", "pyproject.toml", f"{root}/ix/CURRENT",
              f"http://127.0.0.1:{url.rsplit(':', 1)[1]}/config"]  # a fetch of the server itself (SSRF)
    with httpx.Client(timeout=30) as client:
        for probe in probes:
            for route in ("/gradio_api/file=", "/file=", "/gradio_api/file/", "/file/"):
                response = client.get(url + route + probe)
                assert response.status_code in (403, 404), (route + probe, response.status_code)
                assert "root:x:" not in response.text and "TOPSECRET" not in response.text
        # the control: an export is served, so the refusals above are the endpoint's, not a broken route
        response = client.get(f"{url}/gradio_api/file={export_md}")
        assert response.status_code == 200 and "cited excerpts" in response.text


def test_chat_history_cannot_smuggle_a_file(served, gradio_tmp):
    """A file message in the chat history sent to /ask is refused; nothing is copied into Gradio's cache."""
    root, _, url = served
    for path in ("/etc/passwd", str(root / "ix" / "CURRENT")):
        messages = [{"role": "user", "content": [{"type": "file", "file": {
            "path": path, "meta": {"_type": "gradio.FileData"}}}]}]
        with httpx.Client(timeout=30) as client:
            start = client.post(f"{url}/gradio_api/call/ask",
                                json={"data": ["violence", messages, "", "", "", "any", ""]})
            assert start.status_code == 200
            events = client.get(f"{url}/gradio_api/call/ask/{start.json()['event_id']}").text
        assert "event: error" in events and "root:x:" not in events
    cached = [p.name for p in gradio_tmp.rglob("*") if p.is_file()]
    assert "passwd" not in cached and "CURRENT" not in cached


# -- (a) an open address needs a password -----------------------------------------------------

@pytest.mark.parametrize("how", [["--host", "0.0.0.0"], ["--host", "192.0.2.1"], []],
                         ids=["--host 0.0.0.0", "--host 192.0.2.1", "CABLEQA_HOST=0.0.0.0"])
def test_serve_refuses_an_open_address_without_auth(tmp_path, how):
    env = env_for(tmp_path)
    if not how:
        env["CABLEQA_HOST"] = "0.0.0.0"
    run = subprocess.run([sys.executable, "-m", "cableqa.cli", "serve", *how, "--index", str(tmp_path / "ix"),
                          "--corpus", str(tmp_path / "none"), "--port", str(free_port())],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode != 0
    assert "--auth" in run.stderr and "CABLEQA_AUTH" in run.stderr
    assert not (tmp_path / "ix").exists()  # refused before anything was built or served


def wait_until_serving(proc: subprocess.Popen, url: str, log: Path, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"cableqa serve did not answer within {timeout} s:\n{log.read_text()}")


@pytest.mark.slow
def test_serve_on_an_open_address_with_auth_requires_login(tmp_path, gradio_tmp):
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus)
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cableqa.cli", "serve", "--host", "0.0.0.0", "--port",
                                 str(port), "--auth", "ana:s3cret", "--index", str(tmp_path / "ix"),
                                 "--corpus", str(corpus)],
                                stdout=out, stderr=subprocess.STDOUT, env=env_for(tmp_path), cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(proc, url, log)
        assert "WARNING: serving on 0.0.0.0" in log.read_text()
        with httpx.Client(timeout=30) as anonymous:
            assert anonymous.get(url + "config").status_code == 401
            assert anonymous.post(url + "gradio_api/call/status", json={"data": []}).status_code == 401
            assert anonymous.get(url + "gradio_api/file=/etc/passwd").status_code == 401
            assert anonymous.post(url + "login", data={"username": "ana", "password": "guess"}).status_code == 400
        with pytest.raises(AuthenticationError):
            Client(url, verbose=False, download_files=str(tmp_path))
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("ana", "wrong"), verbose=False, download_files=str(tmp_path))
        client = Client(url, auth=("ana", "s3cret"), verbose=False, download_files=str(tmp_path))
        assert "1 cables" in client.predict(api_name="/status")
        cable, understood = client.predict("../../etc/passwd", api_name="/open_cable")
        assert "root:x:" not in cable
        with httpx.Client(timeout=30) as user:
            assert user.post(url + "login", data={"username": "ana", "password": "s3cret"}).status_code == 200
            denied = user.get(url + "gradio_api/file=/etc/passwd")
            assert denied.status_code == 403 and "root:x:" not in denied.text
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
