"""One settings object, read from the environment and an optional `.env` file."""

import os
import re
import secrets
import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    storage_dir: Path | None = None
    # A path (the local folder, as STORAGE_DIR) or s3://bucket/prefix. With object storage
    # the local folder keeps only uploads still arriving (swept at start).
    storage_url: str = ""
    s3_endpoint_url: str = ""  # empty: AWS itself; otherwise any S3-compatible server
    # Empty: boto3's own chain (its environment variables, config files, an instance role).
    aws_access_key_id: str = ""
    aws_secret_access_key: str = ""
    aws_default_region: str = ""
    # Downloads from object storage redirect to a presigned URL valid this long.
    storage_presign: bool = False
    storage_presign_seconds: int = 300
    # Public, per-version documents (a published RFP, its PDF, the preferred-provider list).
    public_cache_seconds: int = 60
    secret_key: str = ""
    # Keys the audit chain; kept out of the database so its administrators cannot re-chain it.
    audit_key: str = ""
    audit_anchor_dir: Path | None = None
    # Names this server's anchor file in that folder (default: the host name), so servers
    # sharing one folder never write the same file and their copies can be collected as is.
    audit_anchor_name: str = ""
    max_upload_mb: int = 25
    access_token_minutes: int = 30
    invite_token_hours: int = 72
    # Sign-in throttling, per account and source address: after the free failures each
    # further one doubles the wait from that source (1 s, 2 s, ...) up to the cap; the
    # account-wide ceiling locks the account for everyone for the window and tells its owner.
    login_free_failures: int = 3
    login_max_delay_seconds: int = 900
    login_account_max_failures: int = 100
    login_window_hours: int = 24
    password_reset_minutes: int = 60
    # Links in the messages the service writes (a password reset); never taken from a
    # request's Host header, which a caller chooses.
    public_base_url: str = "http://localhost:8000"
    mail_from: str = "Lead Partner Pipeline <no-reply@localhost>"
    login_rate_per_minute: int = 60  # per client address, whatever the account
    signup_rate_per_hour: int = 20
    max_json_kb: int = 1024
    # Password hashing, argon2id: OWASP's baseline (19 MiB, 2 passes) costs tens of
    # milliseconds a login on a 2-core server, not the library default's ~0.4 s that a sign-in
    # burst would queue behind. Production refuses anything cheaper; the tests go lower.
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    db_pool_size: int = 20
    db_max_overflow: int = 20
    pdf_workers: int = 2
    pdf_timeout_seconds: float = 60
    pdf_memory_mb: int = 1024
    log_level: str = "INFO"
    log_json: bool = True
    # Notifications: without SMTP_URL messages are written as .eml files under DATA_DIR/outbox
    # and shown in the in-app inbox. smtp://user:pass@host:port (?starttls=true) or smtps://.
    smtp_url: str = ""
    smtp_timeout_seconds: float = 30
    # Delivery retries: the n-th temporary failure waits base * 2**(n-1) seconds, capped.
    mail_max_attempts: int = 8
    mail_retry_base_seconds: float = 60
    mail_retry_max_seconds: float = 6 * 3600
    # How long a worker holds the notices it took; a killed worker's are taken again after.
    mail_claim_seconds: float = 120
    mail_batch_size: int = 50
    # Scheduled work: how often the schedules are checked (reminders, closings, expiries).
    schedule_tick_seconds: float = 30
    delivery_tick_seconds: float = 1
    # The in-process worker `serve` runs on SQLite: auto = on for SQLite outside tests
    # (tests drive the jobs themselves).
    jobs_in_process: Literal["auto", "on", "off"] = "auto"

    @model_validator(mode="after")
    def _fill_defaults(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'pipeline.db'}"
        self.database_url = normalize_database_url(self.database_url)
        if self.storage_url and not self.storage_url.startswith("s3://"):
            self.storage_dir = Path(self.storage_url)
        if self.storage_dir is None:
            self.storage_dir = self.data_dir / "files"
        if not self.secret_key:
            if self.environment == "production":
                raise ValueError("SECRET_KEY must be set when ENVIRONMENT=production")
            self.secret_key = _local_secret(self.data_dir)
        if not self.audit_key:
            if self.environment == "production":
                raise ValueError("AUDIT_KEY must be set when ENVIRONMENT=production")
            self.audit_key = _local_secret(self.data_dir, "audit_key")
        if self.environment == "production" and (
            self.argon2_memory_kib < 19456 or self.argon2_time_cost < 2
        ):
            raise ValueError("ENVIRONMENT=production needs argon2 of at least 19456 KiB, 2 passes")
        if self.audit_anchor_dir is None:
            self.audit_anchor_dir = self.data_dir / "audit-anchors"
        if not self.audit_anchor_name:
            self.audit_anchor_name = (
                re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()) or "server"
            )
        elif not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", self.audit_anchor_name):
            raise ValueError("AUDIT_ANCHOR_NAME may hold only letters, digits, '.', '_' and '-'")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def files_dir(self) -> Path:
        assert self.storage_dir is not None
        return self.storage_dir

    @property
    def s3_location(self) -> tuple[str, str] | None:
        """(bucket, prefix) when files live in object storage, else None."""
        if not self.storage_url.startswith("s3://"):
            return None
        bucket, _, prefix = self.storage_url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError("STORAGE_URL must name a bucket: s3://bucket/prefix")
        return bucket, prefix.strip("/")

    @property
    def anchors_dir(self) -> Path:
        assert self.audit_anchor_dir is not None
        return self.audit_anchor_dir

    @property
    def outbox_dir(self) -> Path:
        """Where messages wait as .eml files until the notifications capability sends them."""
        return self.data_dir / "outbox"

    @property
    def max_json_bytes(self) -> int:
        return self.max_json_kb * 1024

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _local_secret(data_dir: Path, name: str = "secret_key") -> str:
    # Outside production a key is generated once and kept, so tokens survive restarts
    # and every worker of one deployment signs with the same key.
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}.{secrets.token_hex(4)}.tmp")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: the first worker to link wins, the others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
