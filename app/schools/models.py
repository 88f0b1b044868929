from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, new_id, utcnow


class School(SQLModel, table=True):
    __tablename__ = "schools"
    __table_args__ = (UniqueConstraint("agency_id", "nces_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    agency_id: str = Field(foreign_key="agencies.id", max_length=32, index=True)
    nces_id: str = Field(max_length=12)
    state_id: str | None = Field(default=None, max_length=50)
    name: str = Field(max_length=200)
    grade_low: str = Field(max_length=2)
    grade_high: str = Field(max_length=2)
    enrollment: int | None = None
    poverty_rate: float | None = None
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # The active cluster it belongs to: a school is in at most one at a time.
    cluster_id: str | None = Field(
        default=None, foreign_key="clusters.id", max_length=32, index=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Cluster(SQLModel, table=True):
    __tablename__ = "clusters"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    agency_id: str = Field(foreign_key="agencies.id", max_length=32, index=True)
    name: str = Field(max_length=200)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    dissolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ClusterPreference(SQLModel, table=True):
    """The district's ranking of the providers it interviewed for a cluster (1 = best)."""

    __tablename__ = "cluster_preferences"
    __table_args__ = (UniqueConstraint("cluster_id", "organization_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    cluster_id: str = Field(foreign_key="clusters.id", max_length=32, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32)
    rank: int
