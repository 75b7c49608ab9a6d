"""``postino graph simulate`` seen from the wire: httpx sends to the process, and a small
webhook receiver on a loopback port checks what it posts back."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.connectors.graph import API_VERSION, GraphProcess
from tests.support import free_port, wait_for_sync

WAMID = re.compile(r"wamid\.[A-Za-z0-9+/]+={0,2}")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256))
TO = "393331234567"


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.raw)

    @property
    def value(self) -> dict[str, Any]:
        return self.json["entry"][0]["changes"][0]["value"]


class Receiver:
    """Postino's side of the webhooks: records posts, answers the verification GET, and
    serves ``files`` for media links. ``answers`` are the statuses of the next posts."""

    def __init__(self, verify_token: str) -> None:
        self.verify_token = verify_token
        self.posts: list[Post] = []
        self.answers: deque[int] = deque()
        self.files: dict[str, tuple[bytes, str]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.posts.append(Post(self.path, {k.lower(): v for k, v in self.headers.items()}, raw))
                self.reply(receiver.answers.popleft() if receiver.answers else 200, b"")

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path in receiver.files:
                    data, content_type = receiver.files[parts.path]
                    self.reply(200, data, content_type)
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == receiver.verify_token:
                    self.reply(200, query.get("hub.challenge", "").encode())
                else:
                    self.reply(403, b"forbidden")

            def reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return self.origin + "/connectors/whatsapp/1/webhook"

    def statuses(self, wamid: str) -> list[dict[str, Any]]:
        return [s for p in self.posts for s in p.value.get("statuses", []) if s["id"] == wamid]

    def wait_statuses(self, wamid: str, count: int) -> list[dict[str, Any]]:
        return wait_for_sync(lambda: len(self.statuses(wamid)) >= count and self.statuses(wamid),
                             timeout=10, message=f"{count} statuses of {wamid}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver("graph-verify-1")
    yield r
    r.close()


@pytest.fixture
def start_graph(tmp_path: Path) -> Iterator[Callable[..., GraphProcess]]:
    """``graph = start_graph("--invalid", "39*")``: a fake bound to the test."""
    started: list[GraphProcess] = []

    def start(*args: str, **kw: str) -> GraphProcess:
        graph = GraphProcess(tmp_path / f"graph{len(started)}", *args, **kw).start()
        started.append(graph)
        return graph

    yield start
    for graph in started:
        graph.stop()


@pytest.fixture(scope="module")
def shared_graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphProcess]:
    """One fake for the many validation cases: they only ever refuse."""
    graph = GraphProcess(tmp_path_factory.mktemp("graph")).start()
    yield graph
    graph.stop()


def auth(graph: GraphProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {graph.token}"}


def send(graph: GraphProcess, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(graph.messages_url, json=body, headers={**auth(graph), **headers}, timeout=5)


def text(to: str = TO, body: str = "ciao", **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": body}, **extra}


def template(to: str = TO) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "template",
            "template": {"name": "order_update", "language": {"code": "it"},
                         "components": [{"type": "body", "parameters": [{"type": "text", "text": "42"}]}]}}


def signed(post: Post, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), post.raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(post.headers.get("x-hub-signature-256", ""), expected)


def error_of(response: httpx.Response) -> dict[str, Any]:
    error = response.json()["error"]
    assert isinstance(error.pop("fbtrace_id"), str)
    return error


# -- sends and statuses ------------------------------------------------------------------


def test_a_text_send_is_answered_like_meta_then_sent_delivered_read_arrive_signed(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url)
    response = send(graph, text("+" + TO, biz_opaque_callback_data="postino-17"))
    assert response.status_code == 200
    answer = response.json()
    wamid = answer["messages"][0]["id"]
    assert answer == {"messaging_product": "whatsapp", "contacts": [{"input": "+" + TO, "wa_id": TO}],
                      "messages": [{"id": wamid}]}
    assert WAMID.fullmatch(wamid) and TO.encode() in base64.b64decode(wamid.removeprefix("wamid."))

    statuses = receiver.wait_statuses(wamid, 3)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(signed(p, graph.app_secret) for p in receiver.posts)
    assert all(p.headers["content-type"] == "application/json" for p in receiver.posts)
    first = receiver.posts[0].json
    assert first["object"] == "whatsapp_business_account"
    assert first["entry"][0]["changes"][0]["field"] == "messages"
    assert receiver.posts[0].value["metadata"]["phone_number_id"] == graph.phone_number_id
    for status in statuses:
        assert status["recipient_id"] == TO and status["biz_opaque_callback_data"] == "postino-17"
        assert status["timestamp"].isdigit()
        assert status["pricing"] == {"billable": True, "pricing_model": "CBP", "category": "service"}
    sent, delivered, read = statuses
    assert sent["conversation"]["origin"] == {"type": "service"} and sent["conversation"]["expiration_timestamp"].isdigit()
    assert delivered["conversation"]["id"] == sent["conversation"]["id"]
    assert "conversation" not in read and "errors" not in sent

    [logged] = graph.events("send")
    assert (logged["body"]["to"], logged["wamid"], logged["answer_status"]) == ("+" + TO, wamid, 200)
    hooks = wait_for_sync(lambda: len(graph.events("webhook")) >= 3 and graph.events("webhook"), message="webhook log")
    assert [(h["kind"], h["status"], h["wamid"], h["answer_status"], h["attempt"]) for h in hooks] == [
        ("status", s, wamid, 200, 1) for s in ("sent", "delivered", "read")
    ]
    assert hooks[0]["at"] <= hooks[1]["at"] <= hooks[2]["at"]


def test_the_raw_body_is_signed_as_meta_encodes_it(start_graph, receiver) -> None:
    """Slashes and non-ASCII come escaped: only a check over the raw bytes passes."""
    graph = start_graph("--webhook-url", receiver.url, "--sent-delay", "0", "--delivered-delay", "none",
                        "--read-delay", "none")
    graph.command(inbound={"from": "628111222333", "text": "città / è", "name": "Zoë"})
    post = wait_for_sync(lambda: receiver.posts and receiver.posts[0], message="inbound webhook")
    assert b"\\/" in post.raw and b"\\u00e8" in post.raw and post.raw.isascii()
    assert signed(post, graph.app_secret)
    assert post.value["messages"][0]["text"]["body"] == "città / è"


def test_a_template_send_is_accepted_and_priced_as_utility(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url, "--read-delay", "none")
    response = send(graph, template())
    assert response.status_code == 200
    message = response.json()["messages"][0]
    assert message["message_status"] == "accepted" and WAMID.fullmatch(message["id"])
    sent, delivered = receiver.wait_statuses(message["id"], 2)
    assert (sent["status"], delivered["status"]) == ("sent", "delivered")
    assert sent["pricing"]["category"] == "utility" and "biz_opaque_callback_data" not in sent


def test_media_sends_by_link_or_id_are_accepted(start_graph) -> None:
    graph = start_graph()
    bodies = [
        {"type": "image", "image": {"link": "https://example.com/a.jpg", "caption": "a"}},
        {"type": "document", "document": {"link": "http://example.com/a.pdf", "filename": "a.pdf", "caption": "x"}},
        {"type": "video", "video": {"id": "1234567890"}},
        {"type": "audio", "audio": {"link": "https://example.com/a.ogg"}},
    ]
    for body in bodies:
        response = send(graph, {"messaging_product": "whatsapp", "to": TO, **body})
        assert response.status_code == 200, response.text
    ids = {r["wamid"] for r in graph.events("send")}
    assert len(ids) == 4


@pytest.mark.parametrize(
    ("body", "message", "details"),
    [
        ({"to": TO, "type": "text", "text": {"body": "x"}}, "(#100) The parameter messaging_product is required.",
         "The parameter messaging_product is required."),
        (text(messaging_product="sms"), "(#100) Invalid parameter", "Param messaging_product must be 'whatsapp'."),
        (text(to="39-333"), "(#100) Invalid parameter", "Param to must be a phone number: 6 to 15 digits, optionally after a '+'."),
        (text(body=""), "(#100) Invalid parameter", "Param text['body'] must be at least 1 character long."),
        (text(body="x" * 4097), "(#100) Invalid parameter", "Param text['body'] must be at most 4096 characters long."),
        (text(text={"body": "x", "preview_url": "yes"}), "(#100) Invalid parameter",
         "Param text['preview_url'] must be a boolean."),
        (text(type="sticker"), "(#100) Invalid parameter",
         "Param type must be one of {text, image, document, video, audio, template}."),
        ({"messaging_product": "whatsapp", "to": TO, "type": "image", "image": {"caption": "x"}},
         "(#100) The parameter image['link'] or image['id'] is required.",
         "The parameter image['link'] or image['id'] is required."),
        ({"messaging_product": "whatsapp", "to": TO, "type": "image", "image": {"link": "ftp://h/a.jpg"}},
         "(#100) Invalid parameter", "Param image['link'] must be a valid URL using http or https."),
        ({"messaging_product": "whatsapp", "to": TO, "type": "audio", "audio": {"link": "https://h/a", "caption": "c"}},
         "(#100) Invalid parameter", 'Unexpected key "caption" on param "audio".'),
        ({"messaging_product": "whatsapp", "to": TO, "type": "image", "image": {"link": "https://h/a", "filename": "a"}},
         "(#100) Invalid parameter", 'Unexpected key "filename" on param "image".'),
        ({"messaging_product": "whatsapp", "to": TO, "type": "template", "template": {"name": "t"}},
         "(#100) The parameter template['language'] is required.", "The parameter template['language'] is required."),
        ({"messaging_product": "whatsapp", "to": TO, "type": "template", "template": {"name": "t", "language": {}}},
         "(#100) The parameter template['language']['code'] is required.",
         "The parameter template['language']['code'] is required."),
        ({"messaging_product": "whatsapp", "to": TO, "type": "template",
          "template": {"name": "t", "language": {"code": "it"}, "components": {}}},
         "(#100) Invalid parameter", "Param template['components'] must be an array."),
    ],
)
def test_bad_sends_get_metas_error_envelope(shared_graph, body, message, details) -> None:
    response = send(shared_graph, body)
    assert response.status_code == 400
    assert error_of(response) == {"message": message, "type": "OAuthException", "code": 100,
                                  "error_data": {"messaging_product": "whatsapp", "details": details}}
    refused = shared_graph.events("refused")[-1]
    assert (refused["code"], refused["http_status"], refused["body"]) == (100, 400, body)
    assert shared_graph.events("send") == []


def test_tokens_and_the_phone_number_id_are_checked(start_graph) -> None:
    graph = start_graph()
    wrong = httpx.post(graph.messages_url, json=text(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    error = error_of(wrong)
    assert (error["code"], error["error_subcode"], error["type"]) == (190, 463, "OAuthException")
    assert error["message"].startswith("Error validating access token: Session has expired")

    other = httpx.post(f"{graph.base_url}/{API_VERSION}/999/messages", json=text(), headers=auth(graph))
    assert other.status_code == 400
    error = error_of(other)
    assert error["code"] == 100 and error["message"].startswith("Unsupported post request")

    assert httpx.post(f"{graph.base_url}/v19.0/{graph.phone_number_id}/messages", json=text(),
                      headers=auth(graph)).status_code == 200
    graph.command(expire_token=True)
    wait_for_sync(lambda: graph.events("token"), message="token expired")
    assert send(graph, text()).status_code == 401
    graph.command(expire_token=False)
    wait_for_sync(lambda: len(graph.events("token")) == 2, message="token renewed")
    assert send(graph, text()).status_code == 200
    assert [e["code"] for e in graph.events("refused")] == [190, 100, 190]


def test_expired_token_refuses_every_send(start_graph) -> None:
    graph = start_graph("--expired-token")
    response = send(graph, text())
    assert response.status_code == 401 and error_of(response)["code"] == 190


# -- failures that come as a status --------------------------------------------------------


def test_invalid_numbers_are_accepted_then_fail_131026(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url, "--invalid", "39000*,628555")
    for to in ("390001112223", "628555"):
        response = send(graph, text(to, biz_opaque_callback_data="p1"))
        assert response.status_code == 200
        wamid = response.json()["messages"][0]["id"]
        [failed] = receiver.wait_statuses(wamid, 1)
        assert failed["status"] == "failed" and failed["biz_opaque_callback_data"] == "p1"
        [error] = failed["errors"]
        assert (error["code"], error["title"]) == (131026, "Message undeliverable")
        assert "pricing" not in failed and "conversation" not in failed
    fine = send(graph, text("6285551"))
    receiver.wait_statuses(fine.json()["messages"][0]["id"], 3)
    assert all(s["status"] == "failed" for p in receiver.posts[:2] for s in p.value["statuses"])


def test_a_closed_window_fails_free_form_sends_131047_until_the_customer_writes(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url, "--window-closed", TO, "--delivered-delay", "none",
                        "--read-delay", "none")
    closed = send(graph, text()).json()["messages"][0]["id"]
    [failed] = receiver.wait_statuses(closed, 1)
    [error] = failed["errors"]
    assert (failed["status"], error["code"], error["title"]) == ("failed", 131047, "Re-engagement message")
    assert error["error_data"]["details"] == (
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
    )
    allowed = send(graph, template()).json()["messages"][0]["id"]
    assert [s["status"] for s in receiver.wait_statuses(allowed, 1)] == ["sent"]

    graph.command(inbound={"from": TO, "text": "hello"})
    wait_for_sync(lambda: graph.events("webhook") and graph.events("webhook")[-1]["kind"] == "inbound", message="inbound")
    reopened = send(graph, text()).json()["messages"][0]["id"]
    assert [s["status"] for s in receiver.wait_statuses(reopened, 1)] == ["sent"]


# -- throughput ------------------------------------------------------------------------------


def test_the_rate_limit_refuses_with_130429_then_refills(start_graph) -> None:
    graph = start_graph("--rate-limit", "2")
    with httpx.Client(headers=auth(graph)) as client:
        answers = [client.post(graph.messages_url, json=text()) for _ in range(5)]
        assert [a.status_code for a in answers[:2]] == [200, 200]
        refused = [a for a in answers if a.status_code != 200]
        assert refused and all(a.status_code == 400 for a in refused)
        assert error_of(refused[0]) == {
            "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
            "error_data": {"messaging_product": "whatsapp", "details": "Cloud API message throughput has been reached."},
        }
        wait_for_sync(lambda: client.post(graph.messages_url, json=text()).status_code == 200, message="refill")
    assert {e["code"] for e in graph.events("refused")} == {130429}


def test_the_pair_rate_limit_counts_per_recipient(start_graph) -> None:
    graph = start_graph("--pair-rate-limit", "2")
    assert [send(graph, text()).status_code for _ in range(2)] == [200, 200]
    third = send(graph, text())
    assert third.status_code == 400
    error = error_of(third)
    assert (error["code"], error["message"]) == (131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit")
    assert send(graph, text("393330000000")).status_code == 200


# -- webhook delivery --------------------------------------------------------------------------


def test_a_refused_webhook_is_retried_and_each_attempt_logged(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url, "--sent-delay", "0", "--delivered-delay", "none",
                        "--read-delay", "none")
    receiver.answers.extend([500, 403])
    wamid = send(graph, text()).json()["messages"][0]["id"]
    hooks = wait_for_sync(lambda: len(graph.events("webhook")) >= 3 and graph.events("webhook"), message="3 attempts")
    assert [(h["attempt"], h["answer_status"], h["status"], h["wamid"]) for h in hooks] == [
        (1, 500, "sent", wamid), (2, 403, "sent", wamid), (3, 200, "sent", wamid),
    ]
    assert len({p.raw for p in receiver.posts}) == 1  # the same body each time


def test_an_unreachable_webhook_is_logged_without_a_status_and_dropped(start_graph) -> None:
    graph = start_graph("--webhook-url", f"http://127.0.0.1:{free_port()}/hook", "--webhook-attempts", "2",
                        "--sent-delay", "0", "--delivered-delay", "none", "--read-delay", "none")
    wamid = send(graph, text()).json()["messages"][0]["id"]
    [dropped] = wait_for_sync(lambda: graph.events("webhook_dropped"), message="dropped")
    assert (dropped["wamid"], dropped["attempts"]) == (wamid, 2)
    assert [(h["attempt"], h["answer_status"]) for h in graph.events("webhook")] == [(1, None), (2, None)]


def test_statuses_wait_for_a_webhook_url_set_later(start_graph, receiver) -> None:
    graph = start_graph("--read-delay", "none", "--delivered-delay", "none")
    wamid = send(graph, text()).json()["messages"][0]["id"]
    graph.command(webhook_url=receiver.url)
    assert [s["status"] for s in receiver.wait_statuses(wamid, 1)] == ["sent"]


def test_a_status_command_posts_that_status_now(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url, "--sent-delay", "none", "--delivered-delay", "none",
                        "--read-delay", "none")
    wamid = send(graph, text(biz_opaque_callback_data="p9")).json()["messages"][0]["id"]
    graph.command(status={"id": wamid, "status": "read"})
    [read] = receiver.wait_statuses(wamid, 1)
    assert (read["status"], read["recipient_id"], read["biz_opaque_callback_data"]) == ("read", TO, "p9")
    graph.command(status={"id": wamid, "status": "failed", "code": 131026})
    assert receiver.wait_statuses(wamid, 2)[1]["errors"][0]["code"] == 131026


def test_verification_get_at_start_and_on_subscribe(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url)
    [verify] = wait_for_sync(lambda: graph.events("verify"), message="verify at start")
    assert (verify["ok"], verify["answer_status"], verify["body"]) == (True, 200, verify["challenge"])
    assert verify["challenge"].isdigit()
    receiver.verify_token = "something else"
    graph.command(subscribe=True)
    second = wait_for_sync(lambda: len(graph.events("verify")) == 2 and graph.events("verify")[1], message="2nd verify")
    assert (second["ok"], second["answer_status"]) == (False, 403)


# -- inbound and media ---------------------------------------------------------------------------


def test_inbound_text_is_posted_with_the_contact(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url)
    graph.command(inbound={"from": "6281234567890", "text": "hi", "name": "Budi"})
    post = wait_for_sync(lambda: receiver.posts and receiver.posts[0], message="inbound")
    assert signed(post, graph.app_secret)
    value = post.value
    assert value["contacts"] == [{"profile": {"name": "Budi"}, "wa_id": "6281234567890"}]
    [message] = value["messages"]
    assert message["from"] == "6281234567890" and message["type"] == "text" and message["text"] == {"body": "hi"}
    assert WAMID.fullmatch(message["id"]) and message["timestamp"].isdigit()
    # The fake logs the delivery once it has the answer, which can be after the receiver has the post.
    [hook] = wait_for_sync(lambda: graph.events("webhook"), message="the delivery in the fake's log")
    assert (hook["kind"], hook["wamid"], hook["answer_status"]) == ("inbound", message["id"], 200)


def test_inbound_image_round_trip_through_the_media_endpoints(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url)
    graph.command(inbound={"from": "6281234567890", "image": {
        "caption": "look", "mime_type": "image/jpeg", "bytes_b64": base64.b64encode(JPEG).decode()}})
    post = wait_for_sync(lambda: receiver.posts and receiver.posts[0], message="inbound image")
    [message] = post.value["messages"]
    image = message["image"]
    assert message["type"] == "image" and "link" not in image and "url" not in image
    assert (image["caption"], image["mime_type"], image["sha256"]) == ("look", "image/jpeg", hashlib.sha256(JPEG).hexdigest())

    meta = httpx.get(f"{graph.base_url}/{API_VERSION}/{image['id']}", headers=auth(graph))
    assert meta.status_code == 200
    info = meta.json()
    assert info == {"messaging_product": "whatsapp", "url": info["url"], "mime_type": "image/jpeg",
                    "sha256": image["sha256"], "file_size": len(JPEG), "id": image["id"]}
    assert info["url"].startswith(f"{graph.base_url}/media-download/{image['id']}?token=")
    download = httpx.get(info["url"], headers=auth(graph))
    assert (download.status_code, download.content, download.headers["content-type"]) == (200, JPEG, "image/jpeg")
    assert httpx.get(info["url"]).status_code == 401
    assert httpx.get(f"{graph.base_url}/{API_VERSION}/{image['id']}").status_code == 401
    assert httpx.get(f"{graph.base_url}/{API_VERSION}/123", headers=auth(graph)).status_code == 400


def test_fetch_links_gets_each_media_link_and_fails_what_cannot_be_fetched(start_graph, receiver) -> None:
    graph = start_graph("--webhook-url", receiver.url, "--fetch-links", "--read-delay", "none",
                        "--delivered-delay", "none")
    receiver.files["/media/a.jpg"] = (JPEG, "image/jpeg")
    link = receiver.origin + "/media/a.jpg"
    ok = send(graph, {"messaging_product": "whatsapp", "to": TO, "type": "image", "image": {"link": link}})
    assert [s["status"] for s in receiver.wait_statuses(ok.json()["messages"][0]["id"], 1)] == ["sent"]
    [fetched] = graph.events("link_fetched")
    assert (fetched["url"], fetched["status"], fetched["bytes"], fetched["content_type"]) == (link, 200, len(JPEG), "image/jpeg")

    missing = send(graph, {"messaging_product": "whatsapp", "to": TO, "type": "document",
                           "document": {"link": receiver.origin + "/media/gone.pdf", "filename": "gone.pdf"}})
    [failed] = receiver.wait_statuses(missing.json()["messages"][0]["id"], 1)
    assert (failed["status"], failed["errors"][0]["code"]) == ("failed", 131053)
    assert graph.events("link_fetched")[1]["status"] == 403


def test_mark_as_read_and_the_phone_number_lookup(start_graph) -> None:
    graph = start_graph()
    read = send(graph, {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"})
    assert (read.status_code, read.json()) == (200, {"success": True})
    number = httpx.get(f"{graph.base_url}/{API_VERSION}/{graph.phone_number_id}", headers=auth(graph))
    assert number.status_code == 200 and number.json()["id"] == graph.phone_number_id
    assert graph.settings() == {
        "phone_number_id": graph.phone_number_id, "token": graph.token, "app_secret": graph.app_secret,
        "verify_token": graph.verify_token, "base_url": graph.base_url, "api_version": API_VERSION,
    }
