"""``/orders``: create, list (paginated), read, update and delete orders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from sample_service import repository
from sample_service.api.deps import SessionsDep, inject_faults
from sample_service.schemas import (
    ErrorResponse,
    OrderCreate,
    OrderPublic,
    OrdersPublic,
    OrderUpdate,
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No order with that id"}
}

router = APIRouter(
    prefix="/orders",
    tags=["orders"],
    dependencies=[Depends(inject_faults)],
    responses={422: {"model": ErrorResponse, "description": "Invalid request"}},
)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_order(sessions: SessionsDep, body: OrderCreate) -> OrderPublic:
    """Create an order; it starts ``pending``."""
    with sessions() as session:
        return OrderPublic.model_validate(repository.create_order(session=session, data=body))


@router.get("")
def list_orders(
    sessions: SessionsDep,
    offset: Annotated[int, Query(ge=0, description="Orders to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size")] = 20,
    customer: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> OrdersPublic:
    """A page of orders, oldest first, with the count of all matching orders."""
    with sessions() as session:
        rows, count = repository.list_orders(
            session=session, offset=offset, limit=limit, customer=customer
        )
        return OrdersPublic(
            data=[OrderPublic.model_validate(r) for r in rows],
            count=count,
            offset=offset,
            limit=limit,
        )


@router.get("/{order_id}", responses=NOT_FOUND)
def get_order(sessions: SessionsDep, order_id: int) -> OrderPublic:
    with sessions() as session:
        return OrderPublic.model_validate(repository.get_order(session=session, order_id=order_id))


@router.patch("/{order_id}", responses=NOT_FOUND)
def update_order(sessions: SessionsDep, order_id: int, body: OrderUpdate) -> OrderPublic:
    """Change the fields sent; the others keep their values."""
    with sessions() as session:
        order = repository.update_order(session=session, order_id=order_id, data=body)
        return OrderPublic.model_validate(order)


@router.delete("/{order_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_order(sessions: SessionsDep, order_id: int) -> Response:
    with sessions() as session:
        repository.delete_order(session=session, order_id=order_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
