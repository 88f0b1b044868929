from datetime import datetime
from typing import Any

from sqlalchemy import Column, false
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, new_id, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(SQLModel, table=True):
    """Append-only: each row stores its predecessor's hash and its own (a hash chain).

    A keyed row's hash is an HMAC under AUDIT_KEY; rows written before the key existed keep
    their plain SHA-256, and the first keyed row names the last of them in `unkeyed_head`.
    """

    __tablename__ = "audit_events"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    seq: int = Field(unique=True, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: str | None = Field(default=None, max_length=32, index=True)
    agency_id: str | None = Field(default=None, max_length=32, index=True)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=64, index=True)
    entity_id: str = Field(max_length=64, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    keyed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # The RFP a partner's proposal event belongs to: sealed until that RFP closes.
    rfp_id: str | None = Field(default=None, max_length=32, index=True)


class AuditHead(SQLModel, table=True):
    """One row: the chain's last sequence number and hash. Updating it serializes appends
    across workers, and it lets verification notice a deleted last row."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default=GENESIS_HASH, max_length=64)
    # The seq of the first keyed event; null until one is written.
    keyed_from: int | None = None
