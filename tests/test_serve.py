"""``textclf serve``: the real server in a child process, over a real socket, with a real HTTP client.

One server per task for the whole module (started together, so that their TensorFlow start-ups overlap): the
multi-class one requires a token, the binary one waits longer to gather batches, the multi-label one is
stopped with SIGTERM by the last test. The page is checked in Debian's chromium driven by Playwright.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import child_env, cli, predict_args, read_csv_rows, sha256, textclf_argv

TOKEN = "test-token-0123456789abcdef"
CHROMIUM = "/usr/bin/chromium"
URL = re.compile(r"http://127\.0\.0\.1:(\d+)")


class Server:
    """``textclf serve RUN --port 0 ARGS`` in a child process; its port is read from its log line."""

    def __init__(self, run: Path, *args: str, logs: Path, token: str | None = None):
        self.run, self.token = run, token
        env = child_env()
        env.pop("TEXTCLF_SERVE_TOKEN", None)
        if token:
            env["TEXTCLF_SERVE_TOKEN"] = token
        logs.mkdir(parents=True, exist_ok=True)
        self.err_path = logs / f"serve-{run.name}.err"
        with open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(
                textclf_argv("serve", run, "--port", "0", *args),
                stdout=subprocess.DEVNULL,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        self.port: int | None = None
        self.health: list[tuple[int, dict]] = []  # the /health answers seen while starting

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def step(self) -> bool:
        """One step of starting: look for the port, else ask /health once (every answer is kept). True: ready."""
        if self.popen.poll() is not None:
            raise AssertionError(f"textclf serve exited with {self.popen.returncode}:\n{self.stderr[-4000:]}")
        if self.port is None:
            found = URL.search(self.stderr)
            self.port = int(found.group(1)) if found else None
            return False
        self.health.append(self.request("GET", "/health")[:2])
        return self.health[-1][0] == 200

    def request(self, method: str, path: str, body=None, *, token: str | None = "default", headers=None):
        """(status, JSON answer, headers); ``body``: an object sent as JSON, or bytes sent as they are."""
        token = self.token if token == "default" else token
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode("utf-8")
            sent.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        content = json.loads(raw) if response.getheader("content-type", "").startswith("application/json") else raw
        return response.status, content, response

    def post(self, path: str, body, **kwargs) -> dict:
        status, content, _ = self.request("POST", path, body, **kwargs)
        assert status == 200, content
        return content

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(60)


def wait_ready(servers: list[Server], timeout: float = 240) -> None:
    """Step every server in turn until all are ready, so that each one's start is watched from its first moment."""
    deadline = time.monotonic() + timeout
    waiting = list(servers)
    while waiting:
        waiting = [server for server in waiting if not server.step()]
        if time.monotonic() > deadline:
            raise AssertionError("textclf serve not ready in time:\n" + "\n".join(s.stderr[-2000:] for s in waiting))
        time.sleep(0.002)


@pytest.fixture(scope="module")
def servers(multiclass_run, binary_run, multilabel_run, tmp_path_factory):
    logs = tmp_path_factory.mktemp("serve-logs")
    started = {
        "multiclass": Server(multiclass_run.run, logs=logs, token=TOKEN),
        "binary": Server(binary_run.run, "--max-batch-wait-ms", "20", logs=logs),
        "multilabel": Server(multilabel_run.run, logs=logs),
    }
    try:
        wait_ready(list(started.values()))
        yield started
    finally:
        for server in started.values():
            server.stop()


TRAINED = {"multiclass": "multiclass_run", "binary": "binary_run", "multilabel": "multilabel_run"}


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel"])
def test_predict_answers_exactly_what_textclf_predict_writes(task, servers, request, tmp_path):
    trained = request.getfixturevalue(TRAINED[task])
    out = tmp_path / "preds.csv"
    assert cli(*predict_args(trained.run, trained.predict_input, out, "--top-k", "2")).exit_code == 0
    _, expected = read_csv_rows(out)
    texts = [row["text"] for row in read_csv_rows(trained.predict_input)[1]]
    got = servers[task].post("/predict", {"texts": texts, "top_k": 2})["predictions"]
    assert len(got) == len(expected) == len(texts)
    classes = json.loads((trained.run / "labels.json").read_text(encoding="utf-8"))["classes"]
    for answer, row in zip(got, expected):
        assert answer["prediction"] == row["prediction"]
        assert answer["labels"] == (
            [x for x in row["prediction"].split("|") if x] if task == "multilabel" else [row["prediction"]]
        )
        assert abs(answer["confidence"] - float(row["confidence"])) <= 2e-6
        assert [t["label"] for t in answer["top"]] == [row["top1"], row["top2"]]
        assert abs(answer["top"][0]["p"] - float(row["top1_p"])) <= 2e-6
        assert list(answer["probabilities"]) == classes
        for name, p in answer["probabilities"].items():
            assert abs(p - float(row[f"p_{name}"])) <= 2e-6, (name, p, row)


def test_explain_gives_the_word_scores_of_textclf_explain(servers, multiclass_run):
    texts = ["the team scored a late goal in the match", "my laptop and phone need the new app"]
    got = servers["multiclass"].post("/explain", {"texts": texts})["explanations"]
    result = cli(
        "explain", "--model", multiclass_run.run, "--text", texts[0], "--text", texts[1], "--no-color", "--top", "3"
    )
    assert result.exit_code == 0, result.output
    assert [len(entry["explanations"]) for entry in got] == [1, 1]
    for i, entry in enumerate(got):
        exp = entry["explanations"][0]
        assert [w["word"] for w in exp["words"]] == texts[i].split()
        assert f"text {i + 1}: prediction {entry['prediction']} (confidence {entry['confidence']:.3f})" in result.stdout
        top = sorted((w for w in exp["words"] if w["score"] > 0), key=lambda w: -w["score"])[:3]
        towards = ", ".join(f"{w['word']!r} {w['score']:+.3f}" for w in top if abs(w["score"]) >= 5e-4) or "(none)"
        assert f"towards {exp['label']} (log-odds drop without the word): {towards}" in result.stdout


def test_health_is_503_until_the_model_is_loaded_then_200(servers):
    for server in servers.values():
        statuses = [status for status, _ in server.health]
        assert statuses[-1] == 200 and set(statuses) <= {200, 503}
        assert statuses.index(200) > 0, "the port opened only once the model was loaded"
        assert all(answer == {"status": "loading"} for status, answer in server.health if status == 503)
    status, answer, _ = servers["multiclass"].request("GET", "/health", token=None)  # open without the token
    assert (status, answer["status"]) == (200, "ready")


def test_metadata_describes_the_run(servers, binary_run):
    meta = servers["binary"].request("GET", "/metadata")[1]
    run = binary_run.run
    labels = json.loads((run / "labels.json").read_text(encoding="utf-8"))
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    tuned = json.loads((run / "thresholds.json").read_text(encoding="utf-8"))["thresholds"]
    assert (meta["run"], meta["task"], meta["classes"]) == (run.name, "binary", labels["classes"])
    assert meta["classes"] == ["00123", "NA"]  # strings, as trained
    assert meta["thresholds"] == pytest.approx(tuned)
    assert meta["test_metrics"] == metrics["test"]
    assert meta["manifest_sha256"] == sha256(run / "manifest.json")


def test_limits_and_malformed_requests_are_json_errors_never_500(servers):
    server = servers["binary"]
    cases = [
        ({"texts": ["a"] * 257}, 422, "texts", "--max-texts"),
        ({"texts": ["ok", "x" * 20_001]}, 422, "texts[1]", "20,000"),
        ({"texts": ["a", 3]}, 422, "texts[1]", "expected a string"),
        ({"texts": "one text"}, 422, "texts", "expected a list of strings"),
        ({"texts": []}, 422, "texts", "empty list"),
        ({"text": ["a"]}, 422, "texts", "missing"),
        ({"texts": ["a"], "top_k": "2"}, 422, "top_k", "expected an integer"),
        ({"texts": ["a"], "threshold": 1.5}, 422, "threshold", "from 0 to 1"),
        (b'{"texts": ["a",', 422, "body", "invalid JSON"),
        (b"[1, 2]", 422, "body", "expected a JSON object"),
        (b'{"texts": ["\\ud800"]}', 422, "texts[0]", "surrogate"),
        (b"\xff\xfe not utf-8", 422, "body", "invalid JSON"),
    ]
    for body, status, field, needle in cases:
        got, answer, _ = server.request("POST", "/predict", body, headers={"Content-Type": "application/json"})
        assert got == status, (body, answer)
        assert answer["error"].startswith(field if field != "body" else "the body") and needle in answer["error"]
        assert answer["problems"][0]["field"] == field
    got, answer, _ = server.request("POST", "/predict", b'{"texts": ["a"]}', headers={"Content-Type": "text/plain"})
    assert got == 422 and "received Content-Type 'text/plain', expected a JSON object" in answer["error"]
    got, answer, _ = server.request("POST", "/explain", {"texts": ["a"] * 21})
    assert got == 422 and "--max-explain-texts" in answer["error"]
    got, answer, _ = server.request("POST", "/explain", {"texts": ["a"], "label": "nope"})
    assert got == 422 and "'00123', 'NA'" in answer["error"]


def raw_exchange(port: int, data: bytes) -> tuple[int, dict]:
    """Send ``data`` as it is, then read one answer: for bodies the server must refuse before reading them."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


def test_a_body_over_the_limit_is_413_before_it_is_read(servers):
    port = servers["binary"].port
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    status, answer = raw_exchange(port, head + b"Content-Length: 5000000\r\n\r\n")  # declared: refused at once
    assert status == 413 and "5,000,000 bytes" in answer["error"] and "--max-body-bytes" in answer["error"]
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    status, answer = raw_exchange(port, head + b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 17)  # 1.1 MB, no end
    assert status == 413 and "more than 1,048,576 bytes" in answer["error"]
    assert servers["binary"].request("GET", "/nowhere")[0] == 404


def test_the_token_is_required_except_for_health_and_the_page(servers):
    server = servers["multiclass"]
    for token in (None, "wrong-token"):
        for method, path in (("POST", "/predict"), ("POST", "/explain"), ("GET", "/metadata"), ("GET", "/stats")):
            status, answer, response = server.request(method, path, {"texts": ["a"]}, token=token)
            assert status == 401, (path, answer)
            assert "Authorization: Bearer" in answer["error"] and "TEXTCLF_SERVE_TOKEN" in answer["error"]
            assert response.getheader("www-authenticate") == "Bearer"
        assert server.request("POST", "/predict", b"not json", token=token)[0] == 401  # before the body is parsed
    assert server.request("GET", "/", token=None)[0] == 200
    assert server.post("/predict", {"texts": ["a"]})["predictions"]


def test_concurrent_requests_are_scored_together(servers):
    server = servers["binary"]
    texts = [f"goal team match {i} pizza" + " cheese" * (i % 5) for i in range(32)]
    alone = [server.post("/predict", {"texts": [t]})["predictions"][0] for t in texts[:4]]
    before = server.request("GET", "/stats")[1]
    answers: list = [None] * len(texts)
    gate = threading.Barrier(len(texts))

    def one(i: int) -> None:
        gate.wait()
        answers[i] = server.post("/predict", {"texts": [texts[i]]})["predictions"][0]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    after = server.request("GET", "/stats")[1]
    requests, calls = after["requests"] - before["requests"], after["model_calls"] - before["model_calls"]
    assert requests == 32 and calls < requests and after["largest_batch_requests"] > 1, after
    for mine, single in zip(answers, alone):  # each request gets its own rows of the shared call
        assert mine["prediction"] == single["prediction"]
        assert mine["probabilities"] == pytest.approx(single["probabilities"], abs=1e-6)


@pytest.mark.fast
def test_help_imports_neither_tensorflow_nor_fastapi():
    code = (
        "import sys\nfrom textclf.cli import main\n"
        "for args in (['--help'], ['serve', '--help']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "print('LOADED', sorted(m for m in ('tensorflow', 'keras', 'fastapi', 'uvicorn', 'starlette') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), timeout=120)
    assert "Example:" in out.stdout and "textclf serve runs/" in out.stdout
    assert "LOADED []" in out.stdout, out.stdout + out.stderr


@pytest.mark.fast
def test_serve_without_the_extra_says_how_to_install_it(tmp_path):
    code = "import sys\nsys.modules['fastapi'] = None\nfrom textclf.cli import main\nmain(['serve', sys.argv[1]])"
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=child_env(), timeout=120)  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "pip install 'textclf[serve]'" in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_damaged_run_exits_4_before_the_port_opens(run_copy, tmp_path):
    with open(run_copy / "weights.npz", "ab") as f:
        f.write(b"\0")
    port = free_port()
    env = child_env()
    child = subprocess.Popen(textclf_argv("serve", run_copy, "--port", port), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, text=True)  # fmt: skip
    connected = []
    while child.poll() is None:
        with socket.socket() as probe:
            connected.append(probe.connect_ex(("127.0.0.1", port)) == 0)
        time.sleep(0.01)
    stdout, stderr = child.communicate()
    assert child.returncode == 4, stderr
    assert stderr.startswith("error: ") and "weights.npz" in stderr and "Traceback" not in stderr
    assert "serving" not in stderr and not any(connected)


def test_a_taken_port_is_refused_before_tensorflow_starts(binary_run):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(textclf_argv("serve", binary_run.run, "--port", port), capture_output=True, text=True,
                             env=child_env(), timeout=120)  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert f"--port {port}: received a port that another program is listening on" in out.stderr
    assert "starting TensorFlow" not in out.stderr and "Traceback" not in out.stderr


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists() and shutil.which("chromium"):
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium (.ci/run does)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


def test_the_page_classifies_and_colours_words_without_running_any_text(servers, multiclass_run):
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    server = servers["multiclass"]
    origin = f"http://127.0.0.1:{server.port}"
    texts = [
        "the team scored a late goal",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(2)>",
        "pizza & cheese",
    ]
    dialogs, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        response = page.goto(origin + "/")
        csp = response.headers["content-security-policy"]
        page.wait_for_selector("#tokenrow:not([hidden])")  # this server has a token: the page asks for it
        page.fill("#token", TOKEN)
        page.click("#usetoken")
        page.wait_for_selector("#model:has-text('multiclass')")  # the page's CSP forbids eval: no wait_for_function
        page.fill("#texts", "\n".join(texts))
        page.click("#classify")
        page.locator(".result").nth(len(texts) - 1).wait_for()
        results = page.locator(".result")
        shown = [results.nth(i).locator(".text").inner_text() for i in range(len(texts))]
        labels = page.locator(".result .label").all_inner_texts()
        coloured = page.locator(".result .w[style*='background']").count()
        images = page.locator("#results img").count()
        browser.close()
    assert "default-src 'none'" in csp and "http" not in csp and "unsafe-inline" not in csp
    assert dialogs == [] and images == 0
    assert shown == texts  # the markup is shown as text, literally
    assert len(labels) == len(texts) and set(labels) <= {"sports", "tech", "food"}
    assert coloured > 0
    assert all(url.startswith(origin) for url in requests), requests


def test_sigterm_lets_the_request_in_flight_finish_and_exits_0(servers):
    server = servers["multilabel"]
    words = "cherry grass ocean tomato leaf sky the a".split()
    texts = [" ".join(words[(i + j) % len(words)] for j in range(120)) for i in range(20)]
    answer: dict = {}

    def slow() -> None:
        answer["status"], answer["body"], _ = server.request("POST", "/explain", {"texts": texts})

    thread = threading.Thread(target=slow)
    thread.start()
    deadline = time.monotonic() + 60
    while server.request("GET", "/stats")[1]["in_flight_requests"] < 1:
        assert time.monotonic() < deadline and thread.is_alive(), "the request never got in flight"
    server.popen.send_signal(signal.SIGTERM)
    assert thread.is_alive(), "the request finished before SIGTERM; make it slower"
    thread.join(120)
    assert server.popen.wait(60) == 0, server.stderr
    assert answer["status"] == 200 and len(answer["body"]["explanations"]) == 20
    assert "SIGTERM: stopping; finishing the requests in flight" in server.stderr
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0
