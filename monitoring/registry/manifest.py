"""Bulk enrolment from a manifest file: a site, its patients with conditions, and their devices.

Enrolling the same manifest twice changes nothing: patients are matched by
(site, MRN), devices by serial.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from monitoring.domain import Condition, time_zone
from monitoring.registry import repository
from monitoring.registry.service import enrol_patient, ensure_site, register_device
from monitoring.storage.db import Database


class ManifestDevice(BaseModel):
    serial: str = Field(min_length=3, max_length=64)
    kind: str = Field(min_length=1, max_length=32)


class ManifestPatient(BaseModel):
    mrn: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    conditions: list[Condition] = []
    devices: list[ManifestDevice] = []
    time_zone: str = Field(default="UTC", max_length=64, description="IANA zone the patient lives in.")
    enrolled_at: datetime | None = Field(
        default=None, description="When monitoring began, for patients moved from another system."
    )

    @field_validator("time_zone")
    @classmethod
    def known_zone(cls, name: str) -> str:
        return time_zone(name).key


class ManifestSite(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)


class Manifest(BaseModel):
    site: ManifestSite
    patients: list[ManifestPatient]


class EnrolmentCounts(BaseModel):
    patients_added: int = 0
    devices_added: int = 0
    unchanged: int = 0


async def enrol_manifest(database: Database, manifest: Manifest) -> EnrolmentCounts:
    counts = EnrolmentCounts()
    async with database.unit_of_work() as session:
        site = await ensure_site(session=session, code=manifest.site.code, name=manifest.site.name)
        known = await repository.devices_by_serial(
            session=session, serials=[d.serial for p in manifest.patients for d in p.devices]
        )
        for entry in manifest.patients:
            patient = await repository.get_patient_by_mrn(session=session, site_id=site.id, mrn=entry.mrn)
            if patient is None:
                enrolled = await enrol_patient(
                    session=session,
                    site=site,
                    mrn=entry.mrn,
                    display_name=entry.display_name,
                    conditions=entry.conditions,
                    time_zone=entry.time_zone,
                    enrolled_at=entry.enrolled_at,
                )
                patient = enrolled.patient
                counts.patients_added += 1
            else:
                counts.unchanged += 1
            for device in entry.devices:
                if device.serial not in known:
                    await register_device(
                        session=session,
                        serial=device.serial,
                        kind=device.kind,
                        patient_id=patient.id,
                        site_id=site.id,
                    )
                    counts.devices_added += 1
    return counts
