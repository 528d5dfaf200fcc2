"""Load figures of ``textclf serve``: requests/s, texts/s and latency at 1, 8 and 64 concurrent clients, the
server's memory over the run, and texts/s against ``textclf predict`` on the same texts.

    python bench/serve_load.py [--run RUN] [--seconds 10] [--clients 1,8,64] [--screenshot docs/serve-page.png]

* The run: ``--run``, else one trained here on ../shared/datasets/sms_spam/train.csv (configs/binary.yaml,
  default model) into a temporary folder.
* The server: ``textclf serve RUN --port 0`` in a child process (default batching: 5 ms, 256 texts).
* The load: for each level, that many clients on loopback, each on its own keep-alive connection, sending
  ``POST /predict`` with one text (cycling through sms_spam's test texts) as soon as its previous answer came
  back, for ``--seconds`` seconds (then it stops: the loop is bounded in time and count). A client is a coroutine
  of one asyncio loop in this process; the clients and the server share the machine's cores.
* Memory: the server's resident set size, read from /proc every 20 ms; the start and peak of each level.
* ``textclf predict`` on a CSV of the same texts: the whole command timed from start to exit (Python and
  TensorFlow start-up included), and the rows/s it reports itself (the scoring alone).

Writes bench/SERVE.md and bench/serve.json, and prints the table. With ``--screenshot``, also opens the page
in Debian's chromium (Playwright) with a few sms_spam texts and saves a screenshot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from common import read_csv  # noqa: E402
from measure import machine  # noqa: E402

DATA = REPO.parent / "shared" / "datasets" / "sms_spam"
TEXTCLF = [sys.executable, "-m", "textclf.cli"]


def train_run(folder: Path) -> Path:
    run = folder / "sms-spam"
    command = TEXTCLF + ["train", "--config", str(REPO / "configs" / "binary.yaml"), "--run-dir", str(run)]
    command += ["--set", "train.verbose=false", "--set", "train.tensorboard=false"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=child_env())
    return run


def child_env() -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    env.pop("TEXTCLF_SERVE_TOKEN", None)
    return env


class ServerProcess:
    """``textclf serve RUN --port 0`` in a child process, its port read from its log line."""

    def __init__(self, run: Path, log: Path):
        self.log = log
        with open(log, "wb") as err:
            self.popen = subprocess.Popen(TEXTCLF + ["serve", str(run), "--port", "0"], stderr=err,
                                          stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=child_env())  # fmt: skip
        deadline, self.port = time.monotonic() + 300, None
        while self.port is None or get(self.url + "/health")[0] != 200:
            found = re.search(r"http://127\.0\.0\.1:(\d+)", log.read_text())
            self.port = int(found.group(1)) if found else None
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"textclf serve did not start:\n{log.read_text()}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> int:
        self.popen.terminate()
        return self.popen.wait(120)


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except OSError:
        return 0, {}


class RssSampler(threading.Thread):
    """The server's RSS every ``interval`` seconds until stopped: first and peak value."""

    def __init__(self, server: ServerProcess, interval: float = 0.02):
        super().__init__(daemon=True)
        self.server, self.interval, self.samples = server, interval, [server.rss_mb()]
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.samples.append(self.server.rss_mb())

    def stop(self) -> tuple[float, float]:
        self.done.set()
        self.join()
        return self.samples[0], max(self.samples)


async def client(port: int, texts: list[str], start: int, deadline: float, cap: int, out: dict) -> None:
    """One keep-alive connection sending one text per request until ``deadline`` (or ``cap`` requests)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = start
    try:
        while time.monotonic() < deadline and out["requests"] < cap:
            body = json.dumps({"texts": [texts[i % len(texts)]]}).encode()
            head = f"POST /predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            sent = time.perf_counter()
            writer.write(head.encode() + body)
            status = int((await reader.readline()).split()[1])
            headers = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
            length = int(re.search(r"content-length: (\d+)", headers).group(1))
            answer = json.loads(await reader.readexactly(length))
            out["latencies"].append(time.perf_counter() - sent)
            out["requests"] += 1
            ok = status == 200 and len(answer.get("predictions", ())) == 1
            out["errors"] += 0 if ok else 1
            i += 1
    finally:
        writer.close()


def load_level(server: ServerProcess, texts: list[str], clients: int, seconds: float) -> dict:
    """Run ``clients`` clients for ``seconds``; the figures of the level."""
    before = get(server.url + "/stats")[1]
    sampler = RssSampler(server)
    sampler.start()
    out: dict = {"requests": 0, "errors": 0, "latencies": []}

    async def main() -> None:
        deadline = time.monotonic() + seconds
        cap = int(seconds * 20_000)  # a bound on the count too
        await asyncio.gather(*(client(server.port, texts, k * 997, deadline, cap, out) for k in range(clients)))

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    rss_start, rss_peak = sampler.stop()
    after = get(server.url + "/stats")[1]
    latencies = sorted(out["latencies"])
    calls = after["model_calls"] - before["model_calls"]
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": out["requests"],
        "errors": out["errors"],
        "requests_per_s": round(out["requests"] / elapsed, 1),
        "texts_per_s": round(out["requests"] / elapsed, 1),  # one text per request
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 2),
        "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
        "model_calls": calls,
        "mean_batch_texts": round((after["texts"] - before["texts"]) / calls, 2) if calls else 0.0,
        "rss_start_mb": round(rss_start, 1),
        "rss_peak_mb": round(rss_peak, 1),
    }


def time_predict(run: Path, texts: list[str], folder: Path) -> dict:
    """``textclf predict`` on a CSV of ``texts``: wall time of the whole command, and the rows/s it reports."""
    import csv

    source, output = folder / "texts.csv", folder / "predictions.csv"
    with open(source, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text"])
        writer.writerows([t] for t in texts)
    started = time.perf_counter()
    done = subprocess.run(TEXTCLF + ["predict", "--model", str(run), "--input", str(source), "--output", str(output)],
                          capture_output=True, text=True, check=True, env=child_env())  # fmt: skip
    wall = time.perf_counter() - started
    reported = float(re.search(r"\(([\d,]+) rows/s", done.stdout).group(1).replace(",", ""))
    return {"rows": len(texts), "wall_s": round(wall, 2), "texts_per_s_wall": round(len(texts) / wall, 1),
            "texts_per_s_reported": reported}  # fmt: skip


def screenshot(url: str, texts: list[str], path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.goto(url + "/")
        page.wait_for_selector("#model:has-text('binary')")
        page.fill("#texts", "\n".join(texts))
        page.click("#classify")
        page.locator(".result").nth(len(texts) - 1).wait_for()
        page.screenshot(path=str(path), full_page=True)
        browser.close()


def write_report(result: dict, command: str) -> str:
    m, p = result["machine"], result["predict"]
    lines = [
        "# Serving figures (bench/serve_load.py)",
        "",
        f"Made by `{command}`",
        "",
        f"Machine: {m['cpu']}, {m.get('usable_cores', m['cores'])} usable cores. Run: `{result['run_name']}` "
        f"(sms_spam, binary, default model). Measured {result['date']}.",
        "",
        f"Each client sends `POST /predict` with one text, on its own keep-alive connection, for {result['seconds']} s "
        "per level; the clients (one asyncio loop) and the server share the same cores. Default batching: "
        "at most 5 ms of waiting, at most 256 texts per model call.",
        "",
        "| clients | requests/s | texts/s | p50 ms | p99 ms | errors | model calls | texts per call | server RSS MB (start → peak) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["levels"]:
        lines.append(
            f"| {r['clients']} | {r['requests_per_s']:,.0f} | {r['texts_per_s']:,.0f} | {r['p50_ms']} | {r['p99_ms']} | "
            f"{r['errors']} | {r['model_calls']:,} | {r['mean_batch_texts']} | {r['rss_start_mb']:,.0f} → "
            f"{r['rss_peak_mb']:,.0f} |"
        )
    lines += [
        "",
        f"`textclf predict` on the same {p['rows']:,} texts (a CSV): {p['wall_s']} s for the whole command, Python and "
        f"TensorFlow start-up included = **{p['texts_per_s_wall']:,.0f} texts/s**; the command itself reports "
        f"{p['texts_per_s_reported']:,.0f} rows/s for the scoring alone (batches of 512 rows).",
        "",
        f"Server exit code after SIGTERM: {result['exit_code']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=None, help="a run directory (default: train one on sms_spam)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per level")
    parser.add_argument("--clients", default="1,8,64", help="concurrency levels, comma-separated")
    parser.add_argument("--screenshot", type=Path, default=None, help="also save a screenshot of the page here")
    args = parser.parse_args()
    table = read_csv(DATA / "test.csv")
    texts = table["text"].tolist()
    shown = table[table.label == "ham"].text.tolist()[:2] + table[table.label == "spam"].text.tolist()[:2]
    with tempfile.TemporaryDirectory(prefix="textclf-serve-bench-") as tmp:
        folder = Path(tmp)
        run = args.run or train_run(folder)
        server = ServerProcess(run, folder / "serve.err")
        try:
            levels = [load_level(server, texts, int(c), args.seconds) for c in args.clients.split(",")]
            if args.screenshot:
                screenshot(server.url, shown, args.screenshot)
        finally:
            code = server.stop()
        predict = time_predict(run, texts, folder)
    result = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"), "run_name": run.name,
              "seconds": args.seconds, "levels": levels, "predict": predict, "exit_code": code}  # fmt: skip
    command = " ".join(["python bench/serve_load.py", *(shlex.quote(a) for a in sys.argv[1:])])
    (HERE / "serve.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    report = write_report(result, command)
    (HERE / "SERVE.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
