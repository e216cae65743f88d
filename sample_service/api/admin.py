"""``/admin/faults``: read and set the fault switch (bearer token ``ORDERS_ADMIN_TOKEN``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from sample_service.api.deps import FaultsDep, require_admin
from sample_service.schemas import ErrorResponse, FaultsPublic

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or wrong admin token"},
        403: {"model": ErrorResponse, "description": "No admin token configured"},
    },
)


@router.get("/faults")
def read_faults(faults: FaultsDep) -> FaultsPublic:
    return FaultsPublic(faults=faults.current())


@router.put("/faults")
def replace_faults(faults: FaultsDep, body: FaultsPublic) -> FaultsPublic:
    """Put these faults in force, replacing all others; ``{"faults": {}}`` turns them off.

    Keys are route templates as in the metrics' ``route`` label
    (``/orders/{order_id}``) or ``*`` for every route.
    """
    return FaultsPublic(faults=faults.replace(body.faults))


@router.delete("/faults")
def clear_faults(faults: FaultsDep) -> FaultsPublic:
    return FaultsPublic(faults=faults.replace({}))
