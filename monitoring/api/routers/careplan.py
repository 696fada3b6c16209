"""A patient's care plan, per series: a clinician (or admin) overrides a default or resets it."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request

from monitoring.access.principal import Principal, Role
from monitoring.api.deps import SessionDep
from monitoring.api.schemas.common import ErrorBody
from monitoring.api.schemas.patients import (
    SERIES_PATTERN,
    ThresholdIn,
    ThresholdOut,
    patient_detail,
    threshold_out,
)
from monitoring.api.security import require, visible_patient
from monitoring.catalogue import Series
from monitoring.registry.service import checked_threshold, patient_record, reset_threshold, set_threshold

router = APIRouter(prefix="/patients/{patient_id}/care-plan", tags=["patients"])
ClinicianDep = Annotated[Principal, Depends(require(Role.CLINICIAN, Role.ADMIN))]
SeriesPath = Annotated[str, Path(pattern=SERIES_PATTERN, description="Series key, e.g. heart_rate.")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Limits that do not make sense (low above high, none at all)."},
    403: {"model": ErrorBody, "description": "Clinicians and admins only."},
    404: {"model": ErrorBody, "description": "No such patient in your care teams."},
}


@router.put("/{series}", summary="Set this patient's limits for one series", responses=_ERRORS)
async def put_threshold(
    request: Request,
    session: SessionDep,
    who: ClinicianDep,
    patient_id: UUID,
    series: SeriesPath,
    body: ThresholdIn,
) -> ThresholdOut:
    await visible_patient(request=request, session=session, principal=who, patient_id=patient_id)
    threshold = checked_threshold(series=Series.from_key(series), **body.model_dump())
    await set_threshold(session=session, patient_id=patient_id, threshold=threshold)
    return threshold_out(threshold)


@router.delete(
    "/{series}",
    summary="Back to the default of the patient's conditions (removed when there is none); the care plan",
    responses=_ERRORS,
)
async def delete_threshold(
    request: Request, session: SessionDep, who: ClinicianDep, patient_id: UUID, series: SeriesPath
) -> list[ThresholdOut]:
    await visible_patient(request=request, session=session, principal=who, patient_id=patient_id)
    await reset_threshold(session=session, patient_id=patient_id, series=Series.from_key(series))
    return patient_detail(await patient_record(session=session, patient_id=patient_id)).care_plan
