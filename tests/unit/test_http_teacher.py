"""The HTTP backend against small OpenAI-compatible stand-in servers on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from schoolhouse.teacher import Request, Sampling, TeacherError, resolve_teacher
from schoolhouse.teacher.http import HTTPTeacher


class Server:
    def __init__(self, fail_first=0, status=503, max_logprobs=20):
        self.calls, self.bodies = 0, []
        self.max_logprobs = max_logprobs
        self.fail_first, self.status = fail_first, status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.reply(200, {"data": [{"id": "tiny-teacher"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.calls += 1
                outer.bodies.append(body)
                if outer.calls <= outer.fail_first:
                    return self.reply(outer.status, {"error": "busy"})
                if body.get("top_logprobs", 0) > outer.max_logprobs:  # vLLM's check and message
                    return self.reply(400, {"error": {"message": "Requested sample logprobs of "
                        f"{body['top_logprobs']}, which is greater than max allowed: "
                        f"{outer.max_logprobs}"}})  # fmt: skip
                text = "echo: " + body["messages"][0]["content"]
                choice = {"message": {"content": text}, "finish_reason": "stop"}
                if body.get("top_logprobs"):  # vLLM's shape: each token with its alternatives
                    choice["logprobs"] = {
                        "content": [
                            {"token": t, "logprob": -0.5, "top_logprobs": [
                                {"token": t, "logprob": -0.5}, {"token": "?", "logprob": -1.5}
                            ][: body["top_logprobs"]]}
                            for t in text.split(" ")
                        ]
                    }  # fmt: skip
                self.reply(
                    200,
                    {"choices": [choice], "usage": {"prompt_tokens": 5, "completion_tokens": 7}},
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made = []
    yield lambda **kw: made.append(Server(**kw)) or made[-1]
    for s in made:
        s.close()


def requests(n):
    return [
        Request(str(i), ({"role": "user", "content": f"prompt {i}"},), Sampling(seed=i))
        for i in range(n)
    ]


def test_requests_spread_across_urls_and_carry_sampling(servers):
    a, b = servers(), servers()
    teacher = HTTPTeacher([a.url, b.url], concurrency=4)
    assert teacher.name == "tiny-teacher"
    done = {c.request_id: c for c in teacher.generate(requests(10))}
    assert sorted(done, key=int) == [str(i) for i in range(10)]
    assert done["3"].text == "echo: prompt 3" and done["3"].completion_tokens == 7
    assert a.calls == b.calls == 5
    body = a.bodies[0]
    assert body["frequency_penalty"] == 0.3 and body["top_p"] == 0.95 and body["seed"] is not None


def test_busy_server_is_retried_with_backoff(servers):
    busy = servers(fail_first=2, status=503)
    teacher = HTTPTeacher([busy.url], concurrency=1, backoff=0.01)
    assert len(list(teacher.generate(requests(3)))) == 3
    assert busy.calls == 5


def test_a_server_that_dies_ends_the_run_with_a_resume_hint(servers):
    server = servers()
    teacher = HTTPTeacher([server.url], concurrency=2, retries=2, backoff=0.01)
    server.close()
    with pytest.raises(TeacherError, match="failed 3 times .* rerun the same command to resume"):
        list(teacher.generate(requests(4)))


def test_resolve_checks_every_url_before_work(servers):
    a = servers()
    spec = resolve_teacher(f"{a.url}, {a.url}/")
    assert spec.kind == "http" and spec.name == "tiny-teacher" and spec.target == f"{a.url},{a.url}"
    with pytest.raises(TeacherError, match="cannot reach the teacher at http://127.0.0.1:9/v1"):
        resolve_teacher(f"{a.url},http://127.0.0.1:9/v1")
    assert a.calls == 0  # nothing was generated


def test_steering_arguments_travel_as_vllm_xargs_and_pieces_come_back(servers):
    server = servers()
    teacher = HTTPTeacher([server.url])
    steering = {"steer_words": "kite,kites", "steer_bias": 5.0}
    request = Request("0:0", ({"role": "user", "content": "hi"},), Sampling(), steering=steering)
    (completion,) = teacher.generate([request])
    assert server.bodies[-1]["vllm_xargs"] == steering and server.bodies[-1]["logprobs"] is True
    assert completion.pieces is None  # this stand-in reports no tokens
    plain = Request("1:0", ({"role": "user", "content": "hi"},), Sampling())
    list(teacher.generate([plain]))
    assert "vllm_xargs" not in server.bodies[-1] and "logprobs" not in server.bodies[-1]


def test_a_server_without_the_steering_processor_is_named_before_any_work(servers, tmp_path):
    from schoolhouse.config import StoriesConfig
    from schoolhouse.lessons.generation import generate_stories

    server = servers()
    out = tmp_path / "out"
    config = StoriesConfig(n=2, out=out, teacher=server.url)
    with pytest.raises(TeacherError, match=r"does not steer .*--no-steer") as caught:
        generate_stories(config, verify=lambda story: None, progress=False)
    assert "\n" not in str(caught.value)
    assert server.calls == 1  # only the probe: no story was asked for
    assert not list(out.glob("data/*.parquet"))


def test_top_logprobs_are_asked_for_and_come_back_per_token(servers):
    server = servers()
    teacher = HTTPTeacher([server.url])
    ask = Request("0", ({"role": "user", "content": "hi"},), Sampling(), top_logprobs=2)
    (completion,) = teacher.generate([ask])
    assert server.bodies[-1]["logprobs"] is True and server.bodies[-1]["top_logprobs"] == 2
    assert completion.pieces == ("echo:", "hi")
    assert completion.top_logprobs == ((("echo:", -0.5), ("?", -1.5)), (("hi", -0.5), ("?", -1.5)))


def test_a_server_refusing_top_logprobs_answers_without_them(servers):
    server = servers(max_logprobs=0)
    teacher = HTTPTeacher([server.url])
    ask = Request("0", ({"role": "user", "content": "hi"},), Sampling(), top_logprobs=5)
    (completion,) = teacher.generate([ask])
    assert completion.text == "echo: hi" and completion.top_logprobs is None
    assert teacher.refuses_logprobs and "top_logprobs" not in server.bodies[-1]
    list(teacher.generate([ask]))
    assert server.calls == 3  # asked once with, then never again
