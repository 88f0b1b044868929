"""A district's schools, clusters and provider rankings are its own staff's alone."""

from app.accounts.models import Agency, User
from app.accounts.policies import is_staff, is_staff_of
from app.schools.models import Cluster


def may_manage_schools(user: User | None) -> bool:
    """Agency staff (of which district: `manages_district`); no other role, the platform
    administrator included, ever reads a district's schools and clusters."""
    return is_staff(user)


def manages_district(user: User | None, agency: Agency) -> bool:
    return is_staff_of(user, agency.id)


def can_manage_cluster(user: User | None, cluster: Cluster) -> bool:
    return cluster.dissolved_at is None and is_staff_of(user, cluster.agency_id)


def may_use_district_pages(user: User | None) -> bool:
    """The district's pages (schools, clusters, rankings, matching, MOU editing) are for
    agency staff; which district's, `manages_district` decides."""
    return is_staff(user)
