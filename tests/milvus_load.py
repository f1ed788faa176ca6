"""Concurrent `qa ask` clients against a Milvus Lite gRPC server (loopback only) while a writer adds and removes a
document: every answer must come from a committed generation, none may fail. Used by the short CI test and, with
`python -m tests.milvus_load --seconds 300 --real`, for the full five-minute run with the real model.

Every client is a long-lived `qa ask --json` reading questions from stdin (it follows each new generation at its
next question). After each build the writer asks every question once through a reference client, so the answers of
every committed generation are known; a client's answer must equal one of them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
FAKE = """import sys
from qa.interfaces.cli.main import run
from tests.fakes import FakeEmbedder, given
sys.exit(run(sys.argv[1:], given(FakeEmbedder())))
"""


@dataclass
class LoadReport:
    """What the clients saw."""

    clients: int
    seconds: float
    requests: int
    failures: list[str]
    inconsistent: list[str]
    builds: int
    build_seconds: list[float]
    p50_ms: float
    p95_ms: float
    throughput_per_s: float
    variants: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The report, with failure lists cut short."""
        found = asdict(self)
        found["failures"], found["inconsistent"] = self.failures[:5], self.inconsistent[:5]
        found["failure_count"], found["inconsistent_count"] = len(self.failures), len(self.inconsistent)
        return found


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    """`milvus-lite server` on 127.0.0.1:port, once it accepts connections."""
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "milvus-lite"),
            "server",
            "--data-dir",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError("milvus-lite server exited") from None
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("milvus-lite server did not start")


def qa_command(real: bool) -> list[str]:
    """How to run `qa`: the real console module, or the CLI with the fake embedder."""
    return [sys.executable, "-m", "qa"] if real else [sys.executable, "-c", FAKE]


def environment() -> dict[str, str]:
    """The clients' environment: the repository importable, no verifier (it is the same for every store)."""
    return os.environ | {"PYTHONPATH": str(REPO), "QA_VERIFIER": "off", "HF_HUB_OFFLINE": "1"}


class Client:
    """One `qa ask --json` process reading questions from stdin."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
            cwd=REPO,
        )
        self.errors: list[str] = []
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()

    def _drain(self, stream: IO[str] | None) -> None:
        for line in stream or ():
            if line.startswith("qa: error") or "Traceback" in line:
                self.errors.append(line.strip())

    def ask(self, question: str) -> dict[str, Any]:
        """Send one question, wait for its JSON line."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"client exited: {self.errors[-3:]}")
        found: dict[str, Any] = json.loads(line)
        return found

    def close(self) -> None:
        """End the process."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def essence(answer: dict[str, Any]) -> str:
    """What must match between an answer and a committed generation's: passages, scores, highlights, abstention."""
    hits = [(hit["passage_id"], round(hit["score"], 3), hit["highlight"]) for hit in answer.get("passages", [])]
    return json.dumps([hits, answer.get("answered"), answer.get("reason"), answer.get("error")])


def run(
    corpus: Path,
    index: Path,
    extra: Path,
    questions: list[str],
    seconds: float,
    *,
    clients: int = 8,
    real: bool = False,
    max_requests: int = 1_000_000,
    note: Callable[[str], None] = lambda _: None,
) -> LoadReport:
    """Serve `index` from a Milvus Lite server, run the clients for `seconds` while `extra` is added to and removed
    from the corpus and indexed each time; return what they saw."""
    port = free_port()
    server = start_server(index / "milvus-server", port)
    store = f"milvus:http://127.0.0.1:{port}"
    where = ["--corpus", str(corpus), "--index", str(index), "--store", store]
    command = qa_command(real)
    try:
        subprocess.run([*command, "index", *where], check=True, env=environment(), cwd=REPO, capture_output=True)
        valid: dict[str, set[str]] = {question: set() for question in questions}
        reference = Client([*command, "ask", "--json", *where])
        for question in questions:
            valid[question].add(essence(reference.ask(question)))
        note(f"server on 127.0.0.1:{port}; {clients} clients for {seconds:.0f} s")
        workers = [Client([*command, "ask", "--json", *where]) for _ in range(clients)]
        for worker in workers:
            worker.ask(questions[0])  # loaded and answering before the clock starts
        stop = threading.Event()
        seen: list[tuple[str, str, float]] = []
        failures: list[str] = []
        lock = threading.Lock()

        def drive(worker: Client, offset: int) -> None:
            count = 0
            while not stop.is_set() and count < max_requests:
                question = questions[(offset + count) % len(questions)]
                began = time.perf_counter()
                try:
                    answer = worker.ask(question)
                except (RuntimeError, ValueError, OSError) as error:
                    with lock:
                        failures.append(f"{question}: {error}")
                    return
                elapsed = time.perf_counter() - began
                with lock:
                    if "error" in answer:
                        failures.append(f"{question}: {answer['error']}")
                    seen.append((question, essence(answer), elapsed))
                count += 1

        began = time.monotonic()
        threads = [threading.Thread(target=drive, args=(worker, number)) for number, worker in enumerate(workers)]
        for thread in threads:
            thread.start()
        builds: list[float] = []
        parked = extra.parent.parent / f".parked-{extra.name}"
        while time.monotonic() - began < seconds:
            if extra.exists():
                shutil.move(extra, parked)
            else:
                shutil.move(parked, extra)
            started = time.perf_counter()
            done = subprocess.run(
                [*command, "index", *where], check=False, env=environment(), cwd=REPO, capture_output=True
            )
            builds.append(time.perf_counter() - started)
            if done.returncode != 0:
                failures.append(f"qa index failed: {done.stderr.decode()[-300:]}")
                break
            for question in questions:
                valid[question].add(essence(reference.ask(question)))
            note(f"build {len(builds)} ({'added' if extra.exists() else 'removed'}) in {builds[-1]:.1f} s")
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        for worker in [*workers, reference]:
            failures.extend(worker.errors)
            worker.close()
        if parked.exists():
            shutil.move(parked, extra)
    finally:
        server.kill()
        server.wait()
    latencies = sorted(took for _, _, took in seen)
    inconsistent = [question for question, found, _ in seen if found not in valid[question]]
    return LoadReport(
        clients=clients,
        seconds=round(elapsed, 1),
        requests=len(seen),
        failures=failures,
        inconsistent=inconsistent,
        builds=len(builds),
        build_seconds=[round(value, 2) for value in builds],
        p50_ms=round(statistics.median(latencies) * 1000, 1) if latencies else 0.0,
        p95_ms=round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1) if latencies else 0.0,
        throughput_per_s=round(len(seen) / elapsed, 2) if elapsed else 0.0,
        variants={question: len(found) for question, found in valid.items()},
    )


def main() -> None:
    """The full run: the essay and ../shared/related, the real model, a related document added and removed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--real", action="store_true", help="the real model (default: the fake embedder)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qa-milvus-load"))
    arguments = parser.parse_args()
    shutil.rmtree(arguments.work, ignore_errors=True)
    corpus = arguments.work / "corpus"
    (corpus / "related").mkdir(parents=True)
    shutil.copy(REPO / "corpus" / "no-winners-ai-race.md", corpus)
    related = sorted((REPO.parent / "shared" / "related").iterdir())
    for path in related:
        shutil.copy(path, corpus / "related" / path.name)
    extra = corpus / "related" / related[0].name
    gold = [json.loads(line)["question"] for line in (REPO / "corpus" / "gold" / "essay.jsonl").open()][:40]
    report = run(
        corpus,
        arguments.work / "index",
        extra,
        gold,
        arguments.seconds,
        clients=arguments.clients,
        real=arguments.real,
        note=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(json.dumps(report.as_json(), indent=1))


if __name__ == "__main__":
    main()
