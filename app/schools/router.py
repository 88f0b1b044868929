from fastapi import Request, status
from fastapi.concurrency import run_in_threadpool

from app.core.pagination import Page
from app.core.routing import api_router, streams_upload
from app.core.uploads import upload_from
from app.deps import CurrentUser, SessionDep, checked_before_upload
from app.schools import service
from app.schools.schemas import (
    ClusterCreate,
    ClusterRead,
    ImportResult,
    PreferencesWrite,
    SchoolCreate,
    SchoolRead,
)

router = api_router(tags=["schools and clusters"])

CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/agencies/{agency_id}/schools", response_model=SchoolRead, status_code=status.HTTP_201_CREATED
)
def create_school(
    session: SessionDep, user: CurrentUser, agency_id: str, body: SchoolCreate
) -> SchoolRead:
    school = service.create_school(session=session, actor=user, agency_id=agency_id, data=body)
    return SchoolRead.model_validate(school, from_attributes=True)


@router.get("/agencies/{agency_id}/schools", response_model=Page[SchoolRead])
def list_schools(session: SessionDep, user: CurrentUser, agency_id: str) -> Page[SchoolRead]:
    schools = service.list_schools(session=session, actor=user, agency_id=agency_id)
    return Page(
        items=[SchoolRead.model_validate(s, from_attributes=True) for s in schools],
        total=len(schools),
    )


@router.post(
    "/agencies/{agency_id}/schools/import",
    response_model=ImportResult,
    openapi_extra=CSV_BODY,
)
@streams_upload
async def import_schools(
    request: Request, session: SessionDep, user: CurrentUser, agency_id: str
) -> ImportResult:
    await checked_before_upload(session, service.district_of, user=user, agency_id=agency_id)
    async with upload_from(request) as upload:
        data = upload.path.read_bytes()
    return await run_in_threadpool(
        service.import_schools, session=session, actor=user, agency_id=agency_id, data=data
    )


@router.post(
    "/agencies/{agency_id}/clusters",
    response_model=ClusterRead,
    status_code=status.HTTP_201_CREATED,
)
def create_cluster(
    session: SessionDep, user: CurrentUser, agency_id: str, body: ClusterCreate
) -> ClusterRead:
    cluster = service.create_cluster(session=session, actor=user, agency_id=agency_id, data=body)
    return service.cluster_view(session, cluster)


@router.get("/agencies/{agency_id}/clusters", response_model=Page[ClusterRead])
def list_clusters(session: SessionDep, user: CurrentUser, agency_id: str) -> Page[ClusterRead]:
    clusters = service.list_clusters(session=session, actor=user, agency_id=agency_id)
    return Page(items=[service.cluster_view(session, c) for c in clusters], total=len(clusters))


@router.get("/clusters/{cluster_id}", response_model=ClusterRead)
def get_cluster(session: SessionDep, user: CurrentUser, cluster_id: str) -> ClusterRead:
    cluster, _ = service.get_cluster(session=session, actor=user, cluster_id=cluster_id)
    return service.cluster_view(session, cluster)


@router.post("/clusters/{cluster_id}/preferences", response_model=ClusterRead)
def set_preferences(
    session: SessionDep, user: CurrentUser, cluster_id: str, body: PreferencesWrite
) -> ClusterRead:
    cluster = service.set_preferences(
        session=session, actor=user, cluster_id=cluster_id, organization_ids=body.organization_ids
    )
    return service.cluster_view(session, cluster)
