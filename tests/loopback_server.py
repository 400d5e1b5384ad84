"""An OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks, with scripted faults.

It answers POST /v1/chat/completions and /v1/completions with text from a `reply(prompt, index)`
function (canned or replayed), honouring `n` unless told to ignore it. Faults come from two places:
- `script`: a list of transient faults handed, in arrival order, to the next requests (each once;
  None answers normally);
- `poison`: permanent faults for every request whose prompt contains a marker string.
Poisoned requests never consume script faults, so request counts are exact whatever the arrival order.

    with LoopbackServer(reply=lambda prompt, i: "1 + 1 = 2\\n#### 2", script=[Fault("500")]) as server:
        client = AsyncOpenAI(base_url=server.base_url, api_key="EMPTY")
        ...
        server.requests  # every request that arrived, faulted or not
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULT_KINDS = ("429", "500", "503", "400", "401", "404", "stall", "malformed", "no_choices", "drop")


@dataclass(frozen=True)
class Fault:
    """One injected fault.

    kind: "429"/"503" (with a Retry-After header of `retry_after` seconds, or retry-after-ms when
    `in_ms`), "500", "400", "401", "404" (with a JSON error message), "stall" (send nothing until the server closes or
    `stall_s` passes),
    "malformed" (status 200, a body that is not JSON), "no_choices" (200, JSON without choices),
    "drop" (close the connection without a response).
    """

    kind: str
    retry_after: float | None = None
    in_ms: bool = False
    stall_s: float = 30.0

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")


def prompt_of(body: dict) -> str:
    """The request's prompt as one string: the completions prompt, or the chat messages' contents joined."""
    if "messages" in body:
        return "\n".join(str(message.get("content", "")) for message in body["messages"])
    return str(body.get("prompt", ""))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # the default listen backlog (5) drops connections under concurrency: clients see timeouts
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (a build stopping, cancelled calls) is normal here: no traceback on stderr."""
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class LoopbackServer:
    def __init__(
        self,
        reply: Callable[[str, int], str],
        script: Sequence[Fault | None] = (),
        poison: dict[str, Fault] | None = None,
        ignore_n: bool = False,
        latency_s: float = 0.0,
    ):
        self.reply = reply
        self.ignore_n = ignore_n
        self.latency_s = latency_s  # each answer takes this long: requests overlap, as at a real server
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests the server was answering at once
        self.poison = dict(poison or {})
        self._script = list(script)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.requests: Counter[str] = Counter()  # by path
        self.faults: Counter[str] = Counter()  # by kind, as injected
        self.bodies: list[dict] = []
        self.authorizations: set[str] = set()  # Authorization headers seen, to check a key was sent
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name="loopback-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing.set()  # wakes stalled handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _arrive(self, path: str, body: dict, authorization: str | None) -> Fault | None:
        """Count the request and choose its fault, if any."""
        prompt = prompt_of(body)
        with self._lock:
            self.requests[path] += 1
            self.bodies.append(body)
            if authorization:
                self.authorizations.add(authorization)
            poisoned = next((f for marker, f in self.poison.items() if marker in prompt), None)
            fault = poisoned or (self._script.pop(0) if self._script else None)
            if fault is not None:
                self.faults[fault.kind] += 1
            return fault

    def _completion(self, path: str, body: dict) -> dict:
        prompt = prompt_of(body)
        count = 1 if self.ignore_n else int(body.get("n") or 1)
        texts = [self.reply(prompt, index) for index in range(count)]
        if path.endswith("/chat/completions"):
            choices = [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
                for i, text in enumerate(texts)
            ]
            kind = "chat.completion"
        else:
            choices = [
                {"index": i, "text": text, "finish_reason": "stop", "logprobs": None} for i, text in enumerate(texts)
            ]
            kind = "text_completion"
        return {
            "id": "cmpl-loopback",
            "object": kind,
            "created": 0,
            "model": body.get("model", "loopback"),
            "choices": choices,
        }


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real inference servers do

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(
                int(self.headers.get("Content-Length") or 0)
            )  # always: keep-alive needs the body consumed
            if self.path not in ("/v1/chat/completions", "/v1/completions"):
                with server._lock:
                    server.requests[self.path] += 1  # counted: a wrong base URL costs requests too
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(raw or b"{}")
            fault = server._arrive(self.path, body, self.headers.get("Authorization"))
            with server._lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                server._closing.wait(server.latency_s)
                if fault is None:
                    self._send(200, server._completion(self.path, body))
                else:
                    self._inject(fault)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _inject(self, fault: Fault) -> None:
            if fault.kind in ("429", "503"):
                headers = {}
                if fault.retry_after is not None:
                    headers = (
                        {"retry-after-ms": str(round(fault.retry_after * 1000))}
                        if fault.in_ms
                        else {"Retry-After": str(fault.retry_after)}
                    )
                self._send(int(fault.kind), {"error": {"message": "slow down", "type": "rate_limit"}}, headers)
            elif fault.kind in ("500", "400", "401", "404"):
                self._send(int(fault.kind), {"error": {"message": f"injected {fault.kind}", "type": "injected"}})
            elif fault.kind == "malformed":
                self._send_raw(200, b'{"id": "cmpl-loopback", "choices": [', "application/json")
            elif fault.kind == "no_choices":
                self._send(200, {"id": "cmpl-loopback", "object": "chat.completion"})
            elif fault.kind == "stall":
                server._closing.wait(fault.stall_s)
                self.close_connection = True
            elif fault.kind == "drop":
                self.close_connection = True  # return without writing a byte

        def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
            self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

        def _send_raw(
            self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up first
                self.close_connection = True

    return Handler


if __name__ == "__main__":  # for benchmarks: serve instant canned replies until stdin closes
    with LoopbackServer(reply=lambda prompt, index: f"Sample {index}: 2 + 2 = <<2+2=4>>4\n#### 4") as running:
        print(running.base_url, flush=True)
        sys.stdin.read()
