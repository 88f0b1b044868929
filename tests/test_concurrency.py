"""Races the database must settle: parallel submits, score saves, finalizes, assignment runs."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import text

from app.core.db import get_engine
from tests.support import (
    Actor,
    Api,
    complete_proposal,
    invited_reviewer,
    pass_deadline,
    published_rfp,
    submitted_proposal,
)


def _parallel(count: int, call: Any) -> list[Any]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def _rows(sql: str, **params: Any) -> int:
    with get_engine().connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def test_parallel_submits_make_one_version(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    proposal = complete_proposal(api, partner, rfp)
    url = f"/api/v1/proposals/{proposal['id']}/submit"
    answers = _parallel(6, lambda: api.client.post(url, headers=partner.headers))
    assert {r.status_code for r in answers} == {200}
    assert {r.json()["version"] for r in answers} == {1}
    keyed = _parallel(
        6, lambda: api.client.post(url, headers={**partner.headers, "Idempotency-Key": "same"})
    )
    assert {r.status_code for r in keyed} == {200}
    assert len({r.json()["receipt"] for r in keyed}) == 1
    assert (
        _rows("SELECT count(*) FROM proposal_versions WHERE proposal_id = :p", p=proposal["id"])
        == 1
    )


def _panel(api: Api, staff: Actor, rfp: dict[str, Any], size: int) -> list[Actor]:
    return [invited_reviewer(api, staff, rfp["id"], name="R") for _ in range(size)]


def test_parallel_assignment_runs_do_not_double_assign(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff, reviewers_per_proposal=2)
    for _ in range(3):
        submitted_proposal(api, api.partner(), rfp)
    _panel(api, staff, rfp, 3)
    pass_deadline(rfp["id"])
    answers = _parallel(
        4,
        lambda: api.client.post(
            f"/api/v1/rfps/{rfp['id']}/assignments/auto", headers=staff.headers
        ),
    )
    assert {r.status_code for r in answers} == {200}
    assert (
        _rows(
            "SELECT count(*) FROM assignments WHERE rfp_id = :r AND removed_at IS NULL", r=rfp["id"]
        )
        == 6
    )
    per_proposal = Counter(a["proposal_id"] for a in answers[-1].json()["items"])
    assert set(per_proposal.values()) == {2}


def test_parallel_score_saves_keep_the_last_and_lose_no_history(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    submitted_proposal(api, api.partner(), rfp)
    reviewer = _panel(api, staff, rfp, 1)[0]
    pass_deadline(rfp["id"])
    api.client.post(f"/api/v1/rfps/{rfp['id']}/assignments/auto", headers=staff.headers)
    assignment = api.client.get("/api/v1/me/assignments", headers=reviewer.headers).json()["items"][
        0
    ]
    key = rfp["criteria"][0]["key"]
    values = iter(range(100))

    def save() -> Any:
        value = next(values) % 5
        body = {"scores": [{"criterion_key": key, "value": value, "comment": f"save {value}"}]}
        return api.client.put(
            f"/api/v1/assignments/{assignment['id']}/scores", json=body, headers=reviewer.headers
        )

    answers = _parallel(10, save)
    assert {r.status_code for r in answers} == {200}
    assert (
        _rows("SELECT count(*) FROM score_history WHERE assignment_id = :a", a=assignment["id"])
        == 10
    )
    assert _rows("SELECT count(*) FROM scores WHERE assignment_id = :a", a=assignment["id"]) == 1
    last = _rows(
        "SELECT value FROM score_history WHERE assignment_id = :a "
        "ORDER BY saved_at DESC, id DESC LIMIT 1",
        a=assignment["id"],
    )
    current = api.client.get(
        f"/api/v1/assignments/{assignment['id']}", headers=reviewer.headers
    ).json()["scores"][0]
    assert current["value"] == last


def test_parallel_finalizes_make_one_list(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    submitted_proposal(api, api.partner(), rfp)
    reviewer = _panel(api, staff, rfp, 1)[0]
    pass_deadline(rfp["id"])
    api.client.post(f"/api/v1/rfps/{rfp['id']}/assignments/auto", headers=staff.headers)
    assignment = api.client.get("/api/v1/me/assignments", headers=reviewer.headers).json()["items"][
        0
    ]
    body = {
        "scores": [{"criterion_key": c["key"], "value": 4, "comment": ""} for c in rfp["criteria"]]
    }
    api.client.put(
        f"/api/v1/assignments/{assignment['id']}/scores", json=body, headers=reviewer.headers
    )
    api.client.post(f"/api/v1/assignments/{assignment['id']}/submit", headers=reviewer.headers)
    answers = _parallel(
        4, lambda: api.client.post(f"/api/v1/rfps/{rfp['id']}/finalize", headers=staff.headers)
    )
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409]
    assert _rows("SELECT count(*) FROM preferred_providers WHERE rfp_id = :r", r=rfp["id"]) == 1
    assert _rows("SELECT count(*) FROM approval_decisions WHERE rfp_id = :r", r=rfp["id"]) == 1
