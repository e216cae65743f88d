"""Order storage: keyword-only functions over a Session, no HTTP in here."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sample_service.errors import OrderNotFoundError
from sample_service.models import Order, OrderStatus
from sample_service.schemas import OrderCreate, OrderUpdate


def create_order(*, session: Session, data: OrderCreate) -> Order:
    order = Order(**data.model_dump(), status=OrderStatus.PENDING)
    session.add(order)
    session.commit()
    session.refresh(order)
    return order


def get_order(*, session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFoundError(order_id)
    return order


def list_orders(
    *, session: Session, offset: int, limit: int, customer: str | None = None
) -> tuple[list[Order], int]:
    """One page, oldest first, and the total count under the same filter."""
    query = select(Order)
    counted = select(func.count()).select_from(Order)
    if customer is not None:
        query = query.where(Order.customer == customer)
        counted = counted.where(Order.customer == customer)
    rows = session.scalars(query.order_by(Order.id).offset(offset).limit(limit)).all()
    return list(rows), int(session.scalar(counted) or 0)


def update_order(*, session: Session, order_id: int, data: OrderUpdate) -> Order:
    order = get_order(session=session, order_id=order_id)
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            continue
        setattr(order, name, value)
    session.commit()
    session.refresh(order)
    return order


def delete_order(*, session: Session, order_id: int) -> None:
    order = get_order(session=session, order_id=order_id)
    session.delete(order)
    session.commit()
