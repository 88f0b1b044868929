"""The floor for the deadline surge: the least work an upload-and-submit can do and still be
honest, served as `bench.floor_app:app` by the same uvicorn setup as the service.

One request per partner: parse the multipart body with the service's streaming parser, check
the bearer token as the service does (`CurrentUser`), load the proposal locked, check it is
the caller's and that the deadline has not passed, then commit one row and one audit event.
What the service does beyond this (type sniffing, content-addressed storage, the completeness
check, the immutable version and its receipt, idempotency) is what the ratio prices.
"""

import sys
from pathlib import Path

# `make bench` runs every bench/*.py as a script: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi import FastAPI, Request, status  # noqa: E402
from fastapi.concurrency import run_in_threadpool  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from app.accounts.models import User  # noqa: E402
from app.audit import service as audit  # noqa: E402
from app.core.db import get_engine  # noqa: E402
from app.core.errors import Conflict, NotFound, install_error_handlers  # noqa: E402
from app.core.uploads import UploadedFile, upload_from  # noqa: E402
from app.deps import CurrentUser  # noqa: E402
from app.proposals import policies as proposal_policies  # noqa: E402
from app.proposals.models import Attachment, Proposal  # noqa: E402
from app.rfps import service as rfp_service  # noqa: E402
from app.rfps.models import Rfp  # noqa: E402

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
install_error_handlers(app)


@app.get("/readyz")
def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/floor/proposals/{proposal_id}/submissions", status_code=status.HTTP_201_CREATED)
async def submit_with_file(request: Request, user: CurrentUser, proposal_id: str) -> dict[str, str]:
    async with upload_from(request) as upload:
        return await run_in_threadpool(_commit, user, proposal_id, upload)


def _commit(user: User, proposal_id: str, upload: UploadedFile) -> dict[str, str]:
    with Session(get_engine(), expire_on_commit=False) as session:
        query = select(Proposal).where(Proposal.id == proposal_id).with_for_update()
        proposal = session.exec(query).first()
        if proposal is None or not proposal_policies.is_partner_of(user, proposal):
            raise NotFound("Proposal")
        rfp = session.get(Rfp, proposal.rfp_id)
        if rfp is None or not rfp_service.is_open_for_submissions(rfp):
            raise Conflict("The submission deadline has passed.")
        row = Attachment(
            proposal_id=proposal.id,
            key=upload.fields.get("key", ""),
            filename=upload.filename[:200],
            content_type=upload.declared_type[:100],
            size=upload.size,
            sha256=upload.sha256,
            storage_key=f"floor/{upload.sha256}",  # the floor keeps no file
            uploaded_by=user.id,
        )
        session.add(row)
        audit.record(
            session=session,
            actor_id=user.id,
            action="floor.submitted",
            entity="proposal",
            entity_id=proposal.id,
            data={"sha256": upload.sha256, "size": upload.size},
            rfp_id=rfp.id,
        )
        session.commit()
        return {"id": row.id, "sha256": upload.sha256}
