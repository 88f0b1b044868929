"""Messages to account owners, written as .eml files under DATA_DIR/outbox/.

Until the notifications capability sends email, the operator's mail relay (or a person)
picks these files up. They may hold a secret link, so they are readable by the service's
user only, and nothing here logs their content."""

import os
import secrets
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from app.core.config import get_settings
from app.core.db import utcnow


def link(path: str) -> str:
    """An absolute link to a page of this service, from the configured public address."""
    return get_settings().public_base_url.rstrip("/") + path


def write(*, to: str, subject: str, body: str) -> Path:
    settings = get_settings()
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="lead-partner-pipeline")
    message.set_content(body)
    outbox = settings.outbox_dir
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow():%Y%m%dT%H%M%S%f}-{secrets.token_hex(6)}.eml"
    final = outbox / name
    # Written under a temporary name and renamed: a relay never picks up half a message.
    tmp = outbox / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(message.as_bytes())
    tmp.replace(final)
    return final
