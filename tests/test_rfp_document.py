"""The RFP as a PDF: its text, escaping of user text, no fetching, identical bytes."""

import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from pypdf import PdfReader

from tests.support import Api, create_rfp, published_rfp


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_pdf_contains_sections_criteria_and_is_byte_identical(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    url = f"/api/v1/rfps/{rfp['id']}/document.pdf"
    first = api.client.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/pdf"
    second = api.client.get(url)
    assert first.content == second.content
    text = " ".join(_text(first.content).split())
    assert rfp["title"] in text
    for section in rfp["sections"]:
        assert section["title"] in text
    for criterion in rfp["criteria"]:
        assert criterion["title"] in text
    assert "UTC" in text  # the deadline is shown with its time zone
    assert (
        PdfReader(io.BytesIO(first.content)).trailer["/Root"].get("/MarkInfo") is not None
    )  # tagged


def test_pdf_changes_with_an_addendum(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    url = f"/api/v1/rfps/{rfp['id']}/document.pdf"
    before = api.client.get(url).content
    api.client.post(
        f"/api/v1/rfps/{rfp['id']}/addenda",
        json={"text": "Addendum text ZQX."},
        headers=staff.headers,
    )
    after = api.client.get(url).content
    assert before != after
    assert "Addendum text ZQX." in _text(after)


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body{}")

    def log_message(self, *args: object) -> None:
        return


def test_user_text_is_escaped_and_nothing_is_fetched(api: Api) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        staff = api.staff()
        hostile = (
            '<img src="file:///etc/passwd"> <link rel="stylesheet" '
            f'href="http://127.0.0.1:{port}/steal.css"> file:///etc/passwd <b>bold</b>'
        )
        rfp = create_rfp(api, staff, summary=hostile, title="Hostile <i>title</i>")
        api.client.post(f"/api/v1/rfps/{rfp['id']}/publish", headers=staff.headers)
        pdf = api.client.get(f"/api/v1/rfps/{rfp['id']}/document.pdf").content
    finally:
        server.shutdown()
    text = " ".join(_text(pdf).split())
    assert "file:///etc/passwd" in text  # shown as text...
    assert "<b>bold</b>" in text
    assert "Hostile <i>title</i>" in text
    assert "root:x:0:0" not in text  # ...never fetched or embedded
    assert b"root:x:0:0" not in pdf
    assert _Recorder.hits == []
