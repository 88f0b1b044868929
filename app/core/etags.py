"""ETag / If-Match optimistic concurrency for versioned objects."""

from app.core.errors import PreconditionFailed


def etag(kind: str, object_id: str, version: int) -> str:
    return f'"{kind}-{object_id}-v{version}"'


def check_if_match(if_match: str | None, current: str) -> None:
    """A stale If-Match answers 412; no header means the client accepts last-write-wins."""
    if if_match is None:
        return
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in candidates and current not in candidates:
        raise PreconditionFailed(
            "This record was changed by someone else since you loaded it. "
            "Reload it and apply your change again."
        )
