"""A district selects Lead Partners for its own named clusters: direct-award RFPs, ranked
clusters, the optimal award, declines and awards made again; and listings that say what
each provider was approved for."""

import io
import itertools
from typing import Any

from pypdf import PdfReader

from tests.support import (
    Actor,
    Api,
    assert_problem,
    complete_proposal,
    create_rfp,
    district_cluster,
    pass_deadline,
    published_rfp,
    submitted_proposal,
)
from tests.worlds import reviewed_rfp

V1 = "/api/v1"
# The district template on a simple footing: mean of one review, approved from 50.
SIMPLE = {"aggregation": "mean", "approval": {"threshold": 50, "all_sections_meet": False}}


def _fit(total: float, rank: int, ranked: int) -> float:
    """The award's fit, as the RFP documents it: 70 points for the panel's total, 30 for
    where the applicant ranked the cluster (first 1.0, last 0.5, linear in between)."""
    preference = 1.0 if ranked == 1 else 1.0 - 0.5 * rank / (ranked - 1)
    return 70 * total / 100 + 30 * preference


def _best_award(
    clusters: list[str], applicants: dict[str, tuple[float, list[str], int]]
) -> tuple[set[tuple[str, str]], list[tuple[int, float]]]:
    """Every assignment of clusters to applicants (or nobody) that honours ranks and
    capacities, tried one by one; the best by (clusters awarded, total fit), and the sorted
    scores of all, to check that the best is unique."""
    options = [
        [None, *[o for o, (_, ranked, _) in applicants.items() if c in ranked]] for c in clusters
    ]
    scored = []
    for choice in itertools.product(*options):
        taken = [o for o in choice if o is not None]
        if any(taken.count(o) > applicants[o][2] for o in set(taken)):
            continue
        fit = sum(
            _fit(applicants[o][0], applicants[o][1].index(c), len(applicants[o][1]))
            for c, o in zip(clusters, choice, strict=True)
            if o is not None
        )
        pairs = {(c, o) for c, o in zip(clusters, choice, strict=True) if o is not None}
        scored.append(((len(taken), round(fit, 6)), pairs))
    scored.sort(key=lambda item: item[0], reverse=True)
    return scored[0][1], [s for s, _ in scored]


def _finalize(api: Api, staff: Actor, rfp_id: str) -> dict[str, Any]:
    response = api.client.post(f"{V1}/rfps/{rfp_id}/finalize", headers=staff.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_award_is_optimal_honours_ranks_and_capacity_and_lists_nobody(api: Api) -> None:
    staff = api.staff(kind="district")
    names = ("north", "south", "west", "east")
    cluster = {n: district_cluster(api, staff, name=f"{n.title()} cluster")["id"] for n in names}
    # Five applicants: capacities, rankings and levels (7 criteria on 0-2) chosen so that the
    # panel's totals, the rankings and the capacities all matter. Nobody ranks "east".
    plans: dict[str, tuple[int, list[str], list[int]]] = {
        "strong": (1, ["north", "south"], [2, 2, 2, 2, 2, 2, 2]),
        "broad": (2, ["south", "west"], [2, 1, 2, 1, 2, 1, 2]),
        "north_only": (1, ["north"], [1, 2, 1, 2, 1, 2, 1]),
        "west_first": (1, ["west", "north", "south"], [2, 2, 1, 1, 2, 2, 1]),
        "weak": (1, ["north"], [0, 0, 0, 0, 0, 0, 0]),
    }
    partners = {
        label: api.partner(capacity_clusters=capacity) for label, (capacity, _, _) in plans.items()
    }
    rfp = reviewed_rfp(
        staff,
        list(partners.values()),
        [levels for _, _, levels in plans.values()],
        template="district-cluster-partner",
        clusters=[[cluster[n] for n in ranked] for _, ranked, _ in plans.values()],
        cluster_ids=list(cluster.values()),
        **SIMPLE,
    )
    result = _finalize(api, staff, rfp.id)

    decided = {d["organization_id"]: d for d in result["items"]}
    label_of = {p.organization_id: label for label, p in partners.items()}
    approved = {label_of[o] for o, d in decided.items() if d["decision"] == "approved"}
    assert approved == {"strong", "broad", "north_only", "west_first"}
    applicants = {
        label: (
            decided[partners[label].organization_id]["weighted_total"],
            plans[label][1],
            plans[label][0],
        )
        for label in approved
    }
    expected, scores = _best_award(list(names), applicants)
    assert scores[0] != scores[1], "the test's world must have one best award"
    name_of = {v: k for k, v in cluster.items()}
    awarded = {(name_of[a["cluster_id"]], label_of[a["organization_id"]]) for a in result["awards"]}
    assert awarded == expected
    # Capacity 1, two clusters asked for: one award at most.
    assert sum(1 for _, label in awarded if label == "strong") == 1
    for award in result["awards"]:
        label = label_of[award["organization_id"]]
        total, ranked, _ = applicants[label]
        rank = ranked.index(name_of[award["cluster_id"]])
        assert award["fit"] == round(_fit(total, rank, len(ranked)), 6)
        assert award["status"] == "proposed" and "Fit" in award["explanation"]
    [unawarded] = result["unawarded"]
    assert unawarded["cluster_id"] == cluster["east"]
    assert "No approved applicant applied" in unawarded["reason"]

    # A direct award lists nobody.
    listed = api.client.get(f"{V1}/preferred-providers?limit=200").json()["items"]
    assert not [row for row in listed if row["rfp_id"] == rfp.id]
    # The awards are the district's to read; the partners see theirs as matches.
    view = api.client.get(f"{V1}/rfps/{rfp.id}/awards", headers=staff.headers).json()
    assert {a["match_id"] for a in view["awards"]} == {a["match_id"] for a in result["awards"]}
    winner = partners[label_of[result["awards"][0]["organization_id"]]]
    mine = api.client.get(
        f"{V1}/organizations/{winner.organization_id}/matches", headers=winner.headers
    ).json()
    assert [m["id"] for m in mine["items"]] == [result["awards"][0]["match_id"]]
    assert_problem(api.client.get(f"{V1}/rfps/{rfp.id}/awards", headers=winner.headers), 403)
    other_district = api.staff(kind="district")
    assert_problem(
        api.client.get(f"{V1}/rfps/{rfp.id}/awards", headers=other_district.headers), 404
    )


def test_a_declined_award_goes_to_the_next_best_and_never_back(api: Api) -> None:
    staff = api.staff(kind="district")
    east = district_cluster(api, staff, name="East cluster")["id"]
    partners = [api.partner() for _ in range(3)]
    levels = [[2] * 7, [2, 2, 2, 1, 1, 1, 1], [1, 1, 1, 2, 2, 2, 2]]
    rfp = reviewed_rfp(
        staff,
        partners,
        levels,
        template="district-cluster-partner",
        clusters=[[east]] * 3,
        cluster_ids=[east],
        **SIMPLE,
    )
    assert_problem(api.client.post(f"{V1}/rfps/{rfp.id}/awards", headers=staff.headers), 409)
    result = _finalize(api, staff, rfp.id)
    by_total = [
        d["organization_id"]
        for d in sorted(result["items"], key=lambda d: d["weighted_total"], reverse=True)
    ]
    [first] = result["awards"]
    assert first["organization_id"] == by_total[0]
    # While an award waits for a decision, there is nothing to award again.
    assert_problem(api.client.post(f"{V1}/rfps/{rfp.id}/awards", headers=staff.headers), 409)

    declined = api.client.post(
        f"{V1}/matches/{first['match_id']}/decline",
        json={"reason": "Could not agree on staffing."},
        headers=staff.headers,
    )
    assert declined.status_code == 200, declined.text
    again = api.client.post(f"{V1}/rfps/{rfp.id}/awards", headers=staff.headers)
    assert again.status_code == 200, again.text
    second = [a for a in again.json()["awards"] if a["status"] == "proposed"]
    assert [a["organization_id"] for a in second] == [by_total[1]]

    # The partner may decline too; the third applicant is next, then nobody is left.
    runner_up = next(p for p in partners if p.organization_id == by_total[1])
    response = api.client.post(
        f"{V1}/matches/{second[0]['match_id']}/decline", json={}, headers=runner_up.headers
    )
    assert response.status_code == 200, response.text
    third = api.client.post(f"{V1}/rfps/{rfp.id}/awards", headers=staff.headers).json()
    pending = [a for a in third["awards"] if a["status"] == "proposed"]
    assert [a["organization_id"] for a in pending] == [by_total[2]]
    api.client.post(f"{V1}/matches/{pending[0]['match_id']}/decline", headers=staff.headers)
    last = api.client.post(f"{V1}/rfps/{rfp.id}/awards", headers=staff.headers).json()
    assert not [a for a in last["awards"] if a["status"] == "proposed"]
    [left] = last["unawarded"]
    assert left["cluster_id"] == east and "declined" in left["reason"]
    # Once declined all round, the cluster can be offered again in a new RFP.
    again_rfp = create_rfp(api, staff, "district-cluster-partner", cluster_ids=[east])
    published = api.client.post(f"{V1}/rfps/{again_rfp['id']}/publish", headers=staff.headers)
    assert published.status_code == 200, published.text


def test_an_accepted_award_leads_to_the_mou_and_closes_the_cluster(api: Api) -> None:
    staff = api.staff(kind="district")
    west = district_cluster(api, staff, name="West cluster")["id"]
    partner = api.partner()
    rfp = reviewed_rfp(
        staff,
        [partner],
        [[2] * 7],
        template="district-cluster-partner",
        clusters=[[west]],
        cluster_ids=[west],
        **SIMPLE,
    )
    [award] = _finalize(api, staff, rfp.id)["awards"]
    # The partner hears of the award, in words that say what it is.
    inbox = api.client.get(f"{V1}/me/notifications", headers=partner.headers).json()["items"]
    [told] = [n for n in inbox if n["kind"] == "match_proposed"]
    assert told["subject"] == "An award was proposed: West cluster"
    assert_problem(
        api.client.post(f"{V1}/matches/{award['match_id']}/accept", headers=partner.headers), 403
    )
    accepted = api.client.post(f"{V1}/matches/{award['match_id']}/accept", headers=staff.headers)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    mou = api.client.post(f"{V1}/matches/{award['match_id']}/mou", headers=staff.headers)
    assert mou.status_code == 201, mou.text
    # A cluster with its Lead Partner is not offered again.
    later = create_rfp(api, staff, "district-cluster-partner", cluster_ids=[west])
    refused = assert_problem(
        api.client.post(f"{V1}/rfps/{later['id']}/publish", headers=staff.headers), 409
    )
    assert refused["type"].endswith("cluster-matched")


def test_clusters_offered_are_the_districts_own_and_in_one_open_rfp_at_a_time(api: Api) -> None:
    staff = api.staff(kind="district")
    mine = district_cluster(api, staff)["id"]
    elsewhere = api.staff(kind="district")
    theirs = district_cluster(api, elsewhere)["id"]
    state_staff = api.staff()

    def create(actor: Actor, **body: Any) -> Any:
        payload = {"title": "Cluster RFP", "submission_deadline": "2031-01-01T00:00:00Z", **body}
        return api.client.post(f"{V1}/rfps", json=payload, headers=actor.headers)

    problem = assert_problem(
        create(staff, template_key="district-cluster-partner", cluster_ids=[theirs]), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "cluster_ids", 0]
    assert_problem(
        create(staff, template_key="district-cluster-partner", cluster_ids=[mine, mine]), 422
    )
    assert_problem(
        create(staff, template_key="district-cluster-partner", selection="preferred_list"), 422
    )
    assert_problem(
        create(state_staff, template_key="state-preferred-provider", selection="direct_award"), 422
    )
    # A state's RFP builds the list: it names no clusters.
    assert_problem(
        create(state_staff, template_key="state-preferred-provider", cluster_ids=[mine]), 422
    )

    # Publishing needs a cluster.
    empty = create_rfp(api, staff, "district-cluster-partner")
    assert empty["selection"] == "direct_award" and empty["cluster_ids"] == []
    refused = assert_problem(
        api.client.post(f"{V1}/rfps/{empty['id']}/publish", headers=staff.headers), 422
    )
    assert ["cluster_ids"] in [e["loc"] for e in refused["errors"]]

    first = published_rfp(api, staff, "district-cluster-partner", cluster_ids=[mine])
    [offered] = first["clusters"]
    assert offered["id"] == mine and len(offered["schools"]) == 3
    assert offered["grades"] == "6-8" and offered["enrollment"] == 1200
    # The public sees what is on offer, schools and all.
    public = api.client.get(f"{V1}/rfps/{first['id']}").json()
    assert public["clusters"][0]["schools"][0]["nces_id"].startswith("51")
    pdf = api.client.get(f"{V1}/rfps/{first['id']}/document.pdf")
    assert pdf.status_code == 200
    words = " ".join(
        " ".join((page.extract_text() or "").split())
        for page in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert "Clusters offered" in words and offered["name"] in words
    assert offered["schools"][0]["nces_id"] in words and "1200 students" in words

    second = create_rfp(api, staff, "district-cluster-partner", cluster_ids=[mine])
    taken = assert_problem(
        api.client.post(f"{V1}/rfps/{second['id']}/publish", headers=staff.headers), 409
    )
    assert taken["type"].endswith("cluster-offered")
    # Once the first RFP is cancelled, the cluster may be offered again.
    cancelled = api.client.post(f"{V1}/rfps/{first['id']}/cancel", headers=staff.headers)
    assert cancelled.status_code == 200, cancelled.text
    again = api.client.post(f"{V1}/rfps/{second['id']}/publish", headers=staff.headers)
    assert again.status_code == 200, again.text


def test_applicants_rank_offered_clusters_before_the_deadline(api: Api) -> None:
    staff = api.staff(kind="district")
    a, b = (district_cluster(api, staff)["id"] for _ in range(2))
    rfp = published_rfp(api, staff, "district-cluster-partner", cluster_ids=[a, b])
    partner, rival = api.partner(), api.partner()
    proposal = api.client.post(f"{V1}/rfps/{rfp['id']}/proposals", headers=partner.headers).json()
    assert ["cluster_ids"] in [m["loc"] for m in proposal["missing"]]
    url = f"{V1}/proposals/{proposal['id']}/clusters"

    def rank(actor: Actor, ids: list[str]) -> Any:
        return api.client.put(url, json={"cluster_ids": ids}, headers=actor.headers)

    assert_problem(rank(partner, [a, "nope"]), 422)
    assert_problem(rank(partner, [b, b]), 422)
    assert_problem(rank(rival, [a]), 404)
    assert_problem(rank(staff, [a]), 403)
    ranked = rank(partner, [b, a])
    assert ranked.status_code == 200 and ranked.json()["cluster_ids"] == [b, a]
    assert ["cluster_ids"] not in [m["loc"] for m in ranked.json()["missing"]]

    # Submit refuses a proposal that applies for no cluster.
    other = api.partner()
    unranked = submitted_without_clusters(api, other, rfp)
    problem = assert_problem(unranked, 422)
    assert ["cluster_ids"] in [e["loc"] for e in problem["errors"]]

    # A preferred-list RFP has no clusters to rank.
    state_rfp = published_rfp(api, api.staff())
    listed = api.client.post(f"{V1}/rfps/{state_rfp['id']}/proposals", headers=partner.headers)
    assert_problem(
        api.client.put(
            f"{V1}/proposals/{listed.json()['id']}/clusters",
            json={"cluster_ids": []},
            headers=partner.headers,
        ),
        409,
    )
    # The ranking is sealed with the proposal: after the deadline it is what was submitted.
    submitted = submitted_proposal(api, api.partner(), rfp)
    pass_deadline(rfp["id"])
    assert_problem(rank(partner, [a]), 409)
    seen = api.client.get(f"{V1}/proposals/{submitted['id']}", headers=staff.headers).json()
    assert seen["cluster_ids"] == [a, b]


def submitted_without_clusters(api: Api, partner: Actor, rfp: dict[str, Any]) -> Any:
    """Every section, attachment and the self-audit, but no cluster; the submit's answer."""
    proposal = complete_proposal(api, partner, {**rfp, "selection": "preferred_list"})
    return api.client.post(f"{V1}/proposals/{proposal['id']}/submit", headers=partner.headers)
