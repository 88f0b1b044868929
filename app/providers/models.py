from datetime import date, datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, new_id, utcnow


class PreferredProvider(SQLModel, table=True):
    """A listing on the public preferred-provider list, made when an RFP is finalized."""

    __tablename__ = "preferred_providers"
    __table_args__ = (UniqueConstraint("rfp_id", "organization_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", max_length=32, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32, index=True)
    state: str = Field(max_length=3, index=True)
    rank: int | None = None
    weighted_total: float | None = None
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    valid_until: date
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
