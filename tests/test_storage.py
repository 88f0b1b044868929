"""The storage interface, the same tests on the local folder and on a real S3 server."""

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from app.core.downloads import content_disposition
from app.core.s3 import StorageUnavailable
from app.core.storage import LocalStorage, Storage, blob_key
from tests.s3_support import empty, requires_s3, s3_storage
from tests.support import PDF_BYTES, Api, complete_proposal, published_rfp, upload


@pytest.fixture(params=["local", pytest.param("s3", marks=requires_s3)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "files")
        return
    store = s3_storage(tmp_path)
    yield store
    empty(store)


def _upload(storage: Storage, data: bytes) -> str:
    temp = storage.temp_path()
    temp.write_bytes(data)
    key = storage.put_temp(temp, hashlib.sha256(data).hexdigest())
    assert not temp.exists()  # the temporary file is gone once stored
    return key


@pytest.mark.parametrize("size", [0, 1000, 17 * 1024 * 1024])  # the last one in parts
def test_upload_then_download_streams_the_same_bytes(storage: Storage, size: int) -> None:
    data = os.urandom(size)
    key = _upload(storage, data)
    assert key == blob_key(hashlib.sha256(data).hexdigest())
    assert storage.exists(key)
    stored = storage.open(key)
    assert stored.size == size
    chunks = list(stored.chunks)
    assert b"".join(chunks) == data
    assert all(len(chunk) <= 1024 * 1024 for chunk in chunks)


def test_the_same_bytes_twice_are_one_object(storage: Storage) -> None:
    data = b"%PDF-1.4 the same proposal twice"
    first = _upload(storage, data)
    assert _upload(storage, data) == first
    assert list(storage.iter_keys("blobs")) == [first]
    assert storage.read(first) == data


def test_a_written_key_is_never_replaced_even_by_racing_writers(storage: Storage) -> None:
    key = "documents/rfps/r1/v1.pdf"
    versions = [f"rendering {n} ".encode() * 1000 for n in range(8)]
    barrier = threading.Barrier(len(versions))

    def write(data: bytes) -> None:
        barrier.wait()
        storage.write(key, data)

    threads = [threading.Thread(target=write, args=(data,)) for data in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kept = storage.read(key)
    assert kept in versions  # one writer's bytes, whole
    storage.write(key, b"a later rendering")
    assert storage.read(key) == kept


def test_missing_keys_and_deletes(storage: Storage) -> None:
    assert storage.read("documents/none.pdf") is None
    assert not storage.exists("documents/none.pdf")
    with pytest.raises(FileNotFoundError):
        storage.open("documents/none.pdf")
    storage.write("documents/a.pdf", b"%PDF-a")
    storage.delete("documents/a.pdf")
    assert not storage.exists("documents/a.pdf")
    storage.delete("documents/a.pdf")  # deleting twice is fine


def test_keys_are_listed_without_temporaries(storage: Storage) -> None:
    storage.write("documents/b.pdf", b"b")
    storage.write("documents/mous/m/v1-draft.pdf", b"m")
    key = _upload(storage, b"an attachment")
    storage.temp_path().write_bytes(b"an upload still arriving")
    assert sorted(storage.iter_keys("")) == sorted(
        ["documents/b.pdf", "documents/mous/m/v1-draft.pdf", key]
    )
    assert sorted(storage.iter_keys("documents")) == [
        "documents/b.pdf",
        "documents/mous/m/v1-draft.pdf",
    ]


@pytest.mark.parametrize("key", ["../outside", "documents/../../x", "/etc/passwd", ""])
def test_keys_cannot_escape(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="escapes the storage root"):
        storage.write(key, b"x")
    with pytest.raises(ValueError, match="escapes the storage root"):
        storage.read(key)


def test_temporaries_of_dead_writers_are_swept(storage: Storage) -> None:
    live = storage.temp_path()
    live.write_bytes(b"mine, still arriving")
    dead = live.with_name(live.name.replace(f".{os.getpid()}.", ".999999999."))
    dead.write_bytes(b"a crashed worker's")
    old = live.with_name("otherhost.1.abc.part")
    old.write_bytes(b"another host's, a day old")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    assert storage.sweep_temporaries() == 2
    assert live.exists() and not dead.exists() and not old.exists()


def test_local_folder_sends_no_presigned_link(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    storage.write("documents/a.pdf", b"%PDF")
    assert (
        storage.presigned_url("documents/a.pdf", disposition="attachment", media_type="x") is None
    )
    assert storage.open("documents/a.pdf").local_path == storage.path("documents/a.pdf")


@requires_s3
def test_presigned_link_serves_the_file_briefly(tmp_path: Path) -> None:
    storage = s3_storage(tmp_path, storage_presign=True, storage_presign_seconds=2)
    try:
        key = _upload(storage, b"%PDF-1.4 presigned")
        url = storage.presigned_url(
            key, disposition=content_disposition("Plan é.pdf"), media_type="application/pdf"
        )
        assert url is not None
        response = httpx.get(url)
        assert response.status_code == 200 and response.content == b"%PDF-1.4 presigned"
        assert response.headers["content-type"] == "application/pdf"
        assert "Plan%20%C3%A9.pdf" in response.headers["content-disposition"]
        time.sleep(3)
        assert httpx.get(url).status_code == 403  # expired
        assert httpx.get(url.split("?")[0]).status_code == 403  # never public without one
    finally:
        empty(storage)


@requires_s3
def test_presigning_is_off_unless_asked(tmp_path: Path) -> None:
    storage = s3_storage(tmp_path)
    assert storage.presigned_url("blobs/aa/x", disposition="attachment", media_type="x") is None


@requires_s3
def test_failures_are_counted_as_storage_errors(tmp_path: Path) -> None:
    storage = s3_storage(tmp_path, aws_secret_access_key="not-the-secret")

    def errors() -> float:
        value = REGISTRY.get_sample_value(
            "lpp_storage_errors_total", {"backend": "s3", "operation": "put"}
        )
        return value or 0.0

    before = errors()
    with pytest.raises(StorageUnavailable) as refused:
        storage.write("documents/refused.pdf", b"x")
    assert refused.value.status == 503
    assert "SignatureDoesNotMatch" in str(refused.value.__cause__)
    assert errors() == before + 1


@requires_s3
def test_an_unreachable_store_is_a_503_upload_that_leaves_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In-process, the app's store pointed at a port nothing listens on."""
    from app.core import storage as storage_module

    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    proposal = complete_proposal(api, partner, rfp)
    dead = s3_storage(tmp_path, s3_endpoint_url="http://127.0.0.1:9", aws_access_key_id="x")
    monkeypatch.setattr(storage_module, "get_storage", lambda: dead)
    monkeypatch.setattr("app.proposals.attachments.get_storage", lambda: dead)
    monkeypatch.setattr("app.core.uploads.get_storage", lambda: dead)
    before = len(
        api.client.get(f"/api/v1/proposals/{proposal['id']}", headers=partner.headers).json()[
            "attachments"
        ]
    )
    key = rfp["required_attachments"][0]["key"]
    response = upload(api, partner, proposal["id"], key, content=PDF_BYTES + b"unreachable")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    after = api.client.get(f"/api/v1/proposals/{proposal['id']}", headers=partner.headers)
    assert len(after.json()["attachments"]) == before
    assert list((tmp_path / "files" / "tmp").iterdir()) == []  # its temporary is gone


def test_storage_url_chooses_the_store(tmp_path: Path) -> None:
    from app.core.config import Settings

    as_path = Settings(storage_url=str(tmp_path / "here"), data_dir=tmp_path)
    assert as_path.files_dir == tmp_path / "here" and as_path.s3_location is None
    legacy = Settings(storage_url="", storage_dir=tmp_path / "old", data_dir=tmp_path)
    assert legacy.files_dir == tmp_path / "old" and legacy.s3_location is None
    bucket = Settings(storage_url="s3://pipeline-files/prod/", data_dir=tmp_path)
    assert bucket.s3_location == ("pipeline-files", "prod")
    assert Settings(storage_url="s3://pipeline-files", data_dir=tmp_path).s3_location == (
        "pipeline-files",
        "",
    )
    with pytest.raises(ValueError, match="must name a bucket"):
        _ = Settings(storage_url="s3:///prefix", data_dir=tmp_path).s3_location
