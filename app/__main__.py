"""Command line: `python -m app <command>` (see `python -m app --help`)."""

import argparse
import sys

from sqlmodel import Session


def _session() -> Session:
    from app.core.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def cmd_migrate(_args: argparse.Namespace) -> int:
    from app.core.migrate import upgrade_to_head

    upgrade_to_head()
    print("Database upgraded to the newest revision.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _prepare_metrics_dir()
    import uvicorn

    from app.core.migrate import upgrade_to_head

    upgrade_to_head()
    print(f"Serving on http://{args.host}:{args.port} with {args.workers} worker(s).")
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        log_config=None,
        access_log=False,
    )
    return 0


def _prepare_metrics_dir() -> None:
    """Point this process and its workers at an empty folder for their metric samples (a
    previous run's would be summed with this one's). Before anything imports
    prometheus_client, which reads the variable once."""
    import os
    import shutil
    from pathlib import Path

    from app.core.config import get_settings

    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or get_settings().data_dir / "metrics")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def cmd_worker(args: argparse.Namespace) -> int:
    from app.core.config import get_settings
    from app.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.is_sqlite:
        print(
            "error: on SQLite `serve` runs the jobs itself; `worker` needs PostgreSQL",
            file=sys.stderr,
        )
        return 2
    from app.jobs.queue import run_worker

    print(f"Job worker started (concurrency {args.concurrency}).", file=sys.stderr)
    run_worker(concurrency=args.concurrency)
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from app.accounts import service
    from app.core.errors import ProblemError

    with _session() as session:
        try:
            user = service.create_admin(session=session, email=args.email, password=args.password)
        except ProblemError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
    print(f"Created platform administrator {user.email} ({user.id}).")
    return 0


def cmd_seed_demo(_args: argparse.Namespace) -> int:
    from app.demo.seed import seed_demo

    with _session() as session:
        for line in seed_demo(session=session):
            print(line)
    return 0


def cmd_verify_audit(_args: argparse.Namespace) -> int:
    from app.audit import service as audit

    with _session() as session:
        result = audit.verify(session)
    if result.ok:
        print(f"Audit chain intact: {result.checked} event(s) verified; {result.anchored}.")
        return 0
    print(f"Audit chain BROKEN ({result.checked} event(s) read):", file=sys.stderr)
    for problem in result.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


def cmd_audit_anchor(_args: argparse.Namespace) -> int:
    from app.audit import anchors
    from app.audit import service as audit

    with _session() as session:
        try:
            anchor = audit.anchor(session)
        except (anchors.AnchorRefused, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print(f"Anchored the audit chain at event #{anchor.seq} in {anchors.anchor_path()}.")
    return 0


def cmd_import_schools(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.accounts.models import Agency
    from app.core.errors import ProblemError
    from app.schools.service import import_into

    def progress(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        print(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} schools",
            end="",
            file=sys.stderr,
        )
        if done == total:
            print(file=sys.stderr)

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 1
    with _session() as session:
        agency = session.get(Agency, args.agency_id)
        if agency is None:
            print(f"error: no agency with id {args.agency_id}", file=sys.stderr)
            return 1
        try:
            result = import_into(
                session=session,
                agency=agency,
                actor_id=None,
                data=path.read_bytes(),
                progress=progress,
            )
        except ProblemError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
    print(
        f"Created {result.created}, updated {result.updated}, "
        f"{len(result.errors)} row(s) with errors."
    )
    for error in result.errors:
        print(f"  row {error.row}: {error.msg}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.ops.backup import BackupError, backup

    try:
        backup(Path(args.dest))
    except (BackupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.ops.backup import BackupError, restore

    if not args.yes:
        print(
            "error: restore replaces every row and file; stop the service and pass --yes",
            file=sys.stderr,
        )
        return 2
    try:
        restore(Path(args.source))
    except (BackupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Lead Partner Pipeline")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="upgrade the database, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker", help="run the job worker: delivery, reminders, closings (PostgreSQL)"
    )
    worker.add_argument("--concurrency", type=int, default=1)
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("migrate", help="upgrade the database to the newest revision").set_defaults(
        func=cmd_migrate
    )

    admin = sub.add_parser("create-admin", help="create a platform administrator")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.set_defaults(func=cmd_create_admin)

    sub.add_parser("seed-demo", help="load the demo dataset (idempotent)").set_defaults(
        func=cmd_seed_demo
    )
    sub.add_parser("verify-audit", help="exit 1 if the audit chain is broken").set_defaults(
        func=cmd_verify_audit
    )
    sub.add_parser(
        "audit-anchor", help="write the audit chain's head to the anchor file"
    ).set_defaults(func=cmd_audit_anchor)
    schools = sub.add_parser("import-schools", help="import a district's schools from a CSV file")
    schools.add_argument("agency_id")
    schools.add_argument("file")
    schools.set_defaults(func=cmd_import_schools)

    backup = sub.add_parser("backup", help="copy the database and stored files to a new folder")
    backup.add_argument("dest")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="replace the database and files with a backup's")
    restore.add_argument("source")
    restore.add_argument("--yes", action="store_true", help="confirm: everything is replaced")
    restore.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
