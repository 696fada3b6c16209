"""The ``monitoring`` command: demo, serve, ingest, api, migrate, enrol, broker-auth, replay, evaluate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitoring.config import Settings
from monitoring.observability.logs import configure_logging
from monitoring.runtime import Role, resolve_endpoints, running
from monitoring.storage import migrate
from monitoring.storage.db import Database
from monitoring.storage.grants import MissingRoleError

log = logging.getLogger("monitoring")


class UsageError(Exception):
    """The command cannot run as asked; the message says why."""


Command = Callable[[Settings, argparse.Namespace, asyncio.Event], Coroutine[Any, Any, None]]


async def _demo(settings: Settings, args: argparse.Namespace, stop: asyncio.Event) -> None:
    from monitoring_cli.demo import run_demo  # the simulators are imported by the demo only

    if args.port is not None:
        settings = settings.model_copy(update={"api": settings.api.model_copy(update={"port": args.port})})
    host, port = settings.api.host, settings.api.port
    if not _port_free(host, port):
        raise UsageError(
            f"port {port} on {host} is already in use (another demo or service?): stop it, or choose "
            f'another port: make demo ARGS="--port {port + 1}"'
        )
    await run_demo(
        settings,
        stop,
        args.duration,
        open_browser=not args.no_browser,
        fresh=args.fresh,
        history=timedelta(days=args.history_days),
    )


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _serving(*roles: Role) -> Command:
    async def serve(settings: Settings, args: argparse.Namespace, stop: asyncio.Event) -> None:
        async with running(settings, set(roles), migrate_schema=args.migrate):
            log.info("running %s; stop with Ctrl-C or SIGTERM", ", ".join(sorted(roles)))
            await stop.wait()

    return serve


async def _migrate(settings: Settings, args: argparse.Namespace, stop: asyncio.Event) -> None:
    async with AsyncExitStack() as stack:
        endpoints = await resolve_endpoints(settings, stack, need_broker=False)
        await endpoints.migrate(args.revision)
    log.info("database schema is at %s", args.revision)


async def _enrol(settings: Settings, args: argparse.Namespace, stop: asyncio.Event) -> None:
    from monitoring.registry.manifest import Manifest, enrol_manifest

    try:
        manifest = Manifest.model_validate_json(args.manifest.read_bytes())
    except (OSError, ValidationError) as error:
        raise UsageError(f"cannot enrol from {args.manifest}: {error}") from None
    async with AsyncExitStack() as stack:
        endpoints = await resolve_endpoints(settings, stack, need_broker=False)
        await migrate.require_head(endpoints.database_url)
        database = Database(endpoints.database_url, settings.database)
        stack.push_async_callback(database.dispose)
        counts = await enrol_manifest(database, manifest)
    log.info(
        "enrolled %d patients and %d devices (%d patients already enrolled)",
        counts.patients_added,
        counts.devices_added,
        counts.unchanged,
    )


async def _broker_auth(settings: Settings, args: argparse.Namespace, stop: asyncio.Event) -> None:
    from monitoring.registry.broker_auth import ServiceAccount, export
    from monitoring.registry.nats_auth import export_nats

    if (args.passwd is None) != (args.acl is None) or (args.passwd is None and args.nats is None):
        raise UsageError("write Mosquitto's files (--passwd and --acl), a NATS cluster's (--nats), or both")
    _, _, username, password = settings.mqtt.endpoint() if settings.mqtt.url else ("", 0, None, None)
    if not username or not password:
        raise UsageError(
            "RPM_MQTT__URL must name the ingestion service's broker account: mqtt://user:password@host"
        )
    services = [ServiceAccount(username, password)]
    async with AsyncExitStack() as stack:
        endpoints = await resolve_endpoints(settings, stack, need_broker=False)
        await migrate.require_head(endpoints.database_url)
        database = Database(endpoints.database_url, settings.database)
        stack.push_async_callback(database.dispose)
        if args.passwd is not None:
            devices = await export(
                database, root=settings.mqtt.topic_root, services=services, passwd=args.passwd, acl=args.acl
            )
            log.info(
                "wrote %s (%d devices and %s) and %s; send mosquitto SIGHUP to load them",
                args.passwd,
                devices,
                username,
                args.acl,
            )
        if args.nats is not None:
            written = await export_nats(
                database, root=settings.mqtt.topic_root, services=services, path=args.nats
            )
            log.info(
                "wrote %s (%d devices and %s); `nats-server --signal reload` on every node loads it",
                args.nats,
                written.devices,
                username,
            )
            if written.to_rotate:
                log.warning(
                    "%d active devices have no NATS credentials (provisioned before they were kept) and "
                    "cannot connect to the cluster until their credentials are rotated: %s",
                    len(written.to_rotate),
                    ", ".join(written.to_rotate[:20]) + (" ..." if len(written.to_rotate) > 20 else ""),
                )


async def _evaluate(settings: Settings, args: argparse.Namespace, stop: asyncio.Event) -> None:
    from evaluation.commands import run_evaluate

    try:
        text = await asyncio.to_thread(run_evaluate, args)
    except (ValueError, FileNotFoundError) as error:
        raise UsageError(str(error)) from None
    print(text)  # noqa: T201 - the report is the command's output
    log.info("report written to %s", args.out)


async def _replay(settings: Settings, args: argparse.Namespace, stop: asyncio.Event) -> None:
    from evaluation.commands import run_replay

    try:
        log.info("%s", await asyncio.to_thread(run_replay, args))
    except ValueError as error:
        raise UsageError(str(error)) from None


COMMANDS: dict[str, tuple[Command, str]] = {
    "demo": (_demo, "everything in one process on embedded defaults, with a simulated cohort"),
    "serve": (
        _serving(Role.API, Role.INGEST, Role.SCHEDULER),
        "API, ingestion and scheduled jobs against the configured services",
    ),
    "ingest": (_serving(Role.INGEST), "ingestion and detection only (workers share: RPM_INGEST__PARTITIONS)"),
    "api": (_serving(Role.API, Role.SCHEDULER), "care-team API and scheduled jobs"),
    "migrate": (_migrate, "bring the database schema up to date"),
    "enrol": (_enrol, "enrol the patients and devices of a manifest file (JSON)"),
    "replay": (_replay, "run the detectors offline over a CSV series or a wire-format JSONL file"),
    "broker-auth": (
        _broker_auth,
        "write the broker's device accounts (Mosquitto or NATS) from the device registry",
    ),
    "evaluate": (_evaluate, "score the detectors against a simulated cohort's ground truth"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitoring",
        description="Remote monitoring of chronic disease. Configure with RPM_* environment variables.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (_, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == "demo":
            sub.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
            sub.add_argument(
                "--no-browser", action="store_true", help="do not open the dashboard in a browser"
            )
            sub.add_argument("--port", type=int, help="the dashboard and API port (default 8000)")
            sub.add_argument(
                "--fresh", action="store_true", help="start over: delete an earlier demo's embedded data"
            )
            sub.add_argument(
                "--history-days",
                type=int,
                default=14,
                choices=range(31),
                metavar="0-30",
                help="days of the cohort's history to load at start (default 14)",
            )
        if name in ("serve", "ingest", "api"):
            sub.add_argument(
                "--migrate", action="store_true", help="apply pending migrations before starting"
            )
        if name == "enrol":
            sub.add_argument("manifest", type=Path, help="e.g. the --manifest output of python -m simulators")
        if name == "broker-auth":
            sub.add_argument("--passwd", type=Path, help="Mosquitto password_file to write")
            sub.add_argument("--acl", type=Path, help="Mosquitto acl_file to write")
            sub.add_argument("--nats", type=Path, help="NATS cluster: users and permissions file to write")
        if name == "replay":
            from evaluation.commands import add_replay_arguments

            add_replay_arguments(sub)
        if name == "evaluate":
            from evaluation.commands import add_evaluate_arguments

            add_evaluate_arguments(sub)
        if name == "migrate":
            sub.add_argument("--revision", default="head", help="target revision (default: head)")
    return parser


async def _run(command: Command, settings: Settings, args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await command(settings, args, stop)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"monitoring: invalid configuration:\n{error}", file=sys.stderr)  # noqa: T201
        return 2
    configure_logging(settings.log_level)
    command, _ = COMMANDS[args.command]
    try:
        asyncio.run(_run(command, settings, args))
    except (migrate.SchemaOutOfDateError, migrate.UnsafeRoleError, MissingRoleError) as error:
        log.error("%s", error)
        return 3
    except UsageError as error:
        log.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
