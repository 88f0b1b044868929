"""The list envelope of the contract: {"items": [...], "total": n} with limit/offset."""

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, field_validator
from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


# Past every row there will ever be, and still within a database's 64-bit integer.
MAX_OFFSET = 2**62


class PageParams(BaseModel):
    limit: int = 50
    offset: int = 0

    @field_validator("offset")
    @classmethod
    def _within_database_range(cls, offset: int) -> int:
        # A page number a caller chose (the web's `?page=`) becomes an offset here: any
        # offset past MAX_OFFSET reads the same nothing, without overflowing the database.
        return min(max(offset, 0), MAX_OFFSET)


def _page_params(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,  # the API says so: 422 beyond
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page_params)]


def paginate(
    session: Session, query: SelectOfScalar[Any], params: PageParams
) -> tuple[Sequence[Any], int]:
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    rows = session.exec(query.limit(params.limit).offset(params.offset)).all()
    return rows, int(total)
