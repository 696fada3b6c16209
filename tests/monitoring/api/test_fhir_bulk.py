"""FHIR Bulk Data export in the async pattern, as a research client uses it: kick-off (202 and a
status URL), polling (202 with progress, then the manifest), downloading NDJSON with the same
token; checked by content against what was stored, for a care team, with _type and _since, and
de-identified."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from sqlalchemy import func, update

from monitoring.fhir.bulk_writer import expire_finished, run_next
from monitoring.storage.db import Database
from monitoring.storage.interop_models import BulkExport
from tests.api_support import SETTINGS, api_client
from tests.factories import heart_rates, readings_payload
from tests.monitoring.api.access_world import World, build
from tests.monitoring.api.fhir_support import PRESSURES, RATES, monitored
from tests.pipeline_support import Acks, inbound, make_pipeline

pytestmark = pytest.mark.integration
FHIR = "/api/v1/fhir"
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
MODELS: dict[str, Any] = {"Patient": Patient, "Device": Device, "Observation": Observation, "Flag": Flag}


async def _export(
    client: httpx.AsyncClient, database: Database, directory: Path, path: str, **params: str
) -> dict[str, list[dict[str, Any]]]:
    """Kick off, poll, let the scheduler run it, poll to the manifest, download every file."""
    kicked = await client.get(path, params=params, headers=ASYNC)
    assert kicked.status_code == 202, kicked.text
    status_url = kicked.headers["content-location"]
    waiting = await client.get(status_url)
    assert waiting.status_code == 202
    assert waiting.headers["x-progress"] == "waiting to start"
    assert await run_next(database, directory) is not None
    done = await client.get(status_url)
    assert done.status_code == 200, done.text
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith(path + ("?" + str(httpx.QueryParams(params)) if params else ""))
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for output in manifest["output"]:
        got = await client.get(output["url"])
        assert got.headers["content-type"].startswith("application/fhir+ndjson")
        lines = [json.loads(line) for line in got.text.splitlines()]
        assert len(lines) == output["count"]
        for resource in lines:
            MODELS[output["type"]].model_validate(resource)
        found[output["type"]] += lines
    return found


def _settings(directory: Path) -> Any:
    return SETTINGS.model_copy(update={"api": SETTINGS.api.model_copy(update={"export_dir": directory})})


async def test_a_care_teams_export_holds_its_patients_data_and_nothing_else(
    database: Database, tmp_path: Path
) -> None:
    world = await build(database)
    patient, stored = await monitored(database, world)
    async with api_client(database, as_user=world.users["admin"], settings=_settings(tmp_path)) as admin:
        team = await _export(admin, database, tmp_path, f"{FHIR}/Group/{world.teams[0]}/$export")
        cut = datetime.now(UTC)
        later = heart_rates([77] * 3, start=cut - timedelta(minutes=4))
        await make_pipeline(database).process(
            [inbound(patient.serial, readings_payload(patient.serial, 2, later))], Acks()
        )
        since = await _export(
            admin, database, tmp_path, f"{FHIR}/$export", _type="Observation", _since=cut.isoformat()
        )
    patients = {p["id"] for p in team["Patient"]}
    assert patients == {str(world.patient), str(patient.patient_id)}, "team A only"
    assert str(world.other_patient) not in json.dumps(team)
    assert len(team["Observation"]) == 5 + RATES + PRESSURES  # the world's patient's five heart rates
    mine = [o for o in team["Observation"] if o["subject"]["reference"] == f"Patient/{patient.patient_id}"]
    shown = {
        (o["code"]["coding"][0]["code"], datetime.fromisoformat(o["effectiveDateTime"]).isoformat()): (
            tuple(c["valueQuantity"]["value"] for c in o["component"])
            if "component" in o
            else o["valueQuantity"]["value"]
        )
        for o in mine
    }
    assert shown == stored
    assert {d["identifier"][0]["value"] for d in team["Device"]} >= {patient.serial, f"{patient.serial}-cuff"}
    assert [f["subject"]["reference"] for f in team["Flag"]] == [f"Patient/{world.patient}"]
    assert set(since) == {"Observation"}
    assert sorted(o["valueQuantity"]["value"] for o in since["Observation"]) == [77, 77, 77], (
        "only what came since"
    )


async def test_a_deidentified_export_keeps_the_shape_and_drops_who(
    database: Database, tmp_path: Path
) -> None:
    world = await build(database)
    patient, _ = await monitored(database, world)
    async with api_client(database, as_user=world.users["admin"], settings=_settings(tmp_path)) as admin:
        real = await _export(
            admin, database, tmp_path, f"{FHIR}/Patient/$export", _type="Patient,Observation"
        )
        hidden = await _export(
            admin,
            database,
            tmp_path,
            f"{FHIR}/Patient/$export",
            _type="Patient,Observation,Device,Flag",
            deidentify="true",
        )
    text = json.dumps(hidden)
    for secret in (str(patient.patient_id), patient.serial, f"MRN-{patient.serial[-5:]}", "Patient "):
        assert secret not in text, secret
    pseudonyms = {p["id"] for p in hidden["Patient"]}
    assert len(pseudonyms) == len(real["Patient"])
    assert {o["subject"]["reference"].removeprefix("Patient/") for o in hidden["Observation"]} <= pseudonyms
    assert {d["patient"]["reference"].removeprefix("Patient/") for d in hidden["Device"]} <= pseudonyms
    assert all(f["code"]["text"].count("(") == 1 for f in hidden["Flag"]), "kind and severity, no explanation"

    def times(resources: list[dict[str, Any]], code: str) -> list[datetime]:
        return sorted(
            datetime.fromisoformat(o["effectiveDateTime"])
            for o in resources
            if o["code"]["coding"][0]["code"] == code and o["valueQuantity"]["value"] in (60, 61)
        )

    before, after = times(real["Observation"], "8867-4"), times(hidden["Observation"], "8867-4")
    assert len(before) == len(after) > 2
    shifts = {a - b for a, b in zip(after, before, strict=True)}
    assert len(shifts) == 1, "one patient's times all move by the same amount"
    (shift,) = shifts
    assert shift.total_seconds() % 86_400 == 0
    assert 1 <= abs(shift.days) <= 30


async def test_kick_off_refusals_and_cancelling(database: Database, tmp_path: Path) -> None:
    world: World = await build(database)
    async with api_client(database, as_user=world.users["admin"], settings=_settings(tmp_path)) as admin:
        no_prefer = await admin.get(f"{FHIR}/$export")
        bad_type = await admin.get(f"{FHIR}/$export", params={"_type": "Encounter"}, headers=ASYNC)
        other_team = await admin.get(f"{FHIR}/Group/{world.teams[1]}/$export", headers=ASYNC)
        kicked = await admin.get(f"{FHIR}/$export", headers=ASYNC)
        status_url = kicked.headers["content-location"]
        async with api_client(database, as_user=world.users["foreign_admin"]) as foreign:
            peeked = await foreign.get(status_url)
        async with api_client(database, as_user=world.users["coordinator"]) as coordinator:
            refused = await coordinator.get(f"{FHIR}/$export", headers=ASYNC)
        while await run_next(database, tmp_path) is not None:  # team B's, then the site's
            pass
        written = tmp_path / status_url.rsplit("/", 1)[1]
        files = await asyncio.to_thread(lambda: list(written.glob("*.ndjson")))
        cancelled = await admin.delete(status_url)
        gone = await admin.get(status_url)
        left = await asyncio.to_thread(written.exists)
    assert (no_prefer.status_code, bad_type.status_code) == (400, 400)
    assert "Prefer: respond-async" in no_prefer.json()["issue"][0]["diagnostics"]
    assert "Encounter" in bad_type.json()["issue"][0]["diagnostics"]
    assert other_team.status_code == 202, "team B is at the same site"
    assert (peeked.status_code, refused.status_code) == (404, 403)
    assert files, "the export wrote its files"
    assert cancelled.status_code == 202
    assert gone.status_code == 404
    assert not left, "a deleted export's files are gone"


async def test_a_finished_export_says_when_it_expires_and_then_its_files_are_deleted(
    database: Database, tmp_path: Path
) -> None:
    world: World = await build(database)
    keep = timedelta(hours=SETTINGS.api.export_keep_h)
    async with api_client(database, as_user=world.users["admin"], settings=_settings(tmp_path)) as admin:
        kicked = await admin.get(f"{FHIR}/Group/{world.teams[0]}/$export", headers=ASYNC)
        status_url = kicked.headers["content-location"]
        export_id = UUID(status_url.rsplit("/", 1)[1])
        assert await run_next(database, tmp_path) == export_id
        done = await admin.get(status_url)
        file_url = done.json()["output"][0]["url"]
        expires = parsedate_to_datetime(done.headers["expires"])
        assert expires - datetime.now(UTC) == pytest.approx(keep, abs=timedelta(minutes=1))

        assert await expire_finished(database, tmp_path, keep) == []  # not yet
        async with database.unit_of_work() as session:  # as if it finished longer ago than kept
            await session.execute(
                update(BulkExport).where(BulkExport.id == export_id).values(finished_at=func.now() - keep)
            )
        assert await expire_finished(database, tmp_path, keep) == [export_id]
        status = await admin.get(status_url)
        download = await admin.get(file_url)
        left = await asyncio.to_thread((tmp_path / str(export_id)).exists)
    assert (status.status_code, download.status_code) == (404, 404)
    assert "expired" in status.json()["issue"][0]["diagnostics"]
    assert not left, "an expired export's files are deleted"
