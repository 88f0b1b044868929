"""Operations endpoints outside the API's version prefix: the Prometheus scrape."""

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.core import metrics

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def scrape() -> Response:
    # Reading every worker's sample files and counting the queue touch the disk and the
    # database: off the event loop.
    body, content_type = await run_in_threadpool(metrics.exposition)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
