"""The API's request and response bodies (the OpenAPI contract)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sample_service.faults import Fault
from sample_service.models import OrderStatus

Customer = Annotated[str, Field(min_length=1, max_length=100, examples=["ada"])]
Item = Annotated[str, Field(min_length=1, max_length=200, examples=["keyboard"])]
Quantity = Annotated[int, Field(ge=1, le=10_000)]
Price = Annotated[Decimal, Field(ge=0, le=Decimal("99999999.99"), decimal_places=2)]


class OrderBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: Customer
    item: Item
    quantity: Quantity
    unit_price: Price


class OrderCreate(OrderBase):
    """A new order; it starts ``pending``."""


class OrderUpdate(BaseModel):
    """A partial update: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    item: Item | None = None
    quantity: Quantity | None = None
    unit_price: Price | None = None
    status: OrderStatus | None = None


class OrderPublic(OrderBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: OrderStatus
    created_at: datetime
    updated_at: datetime

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """SQLite hands back naive datetimes; they were written in UTC."""
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class OrdersPublic(BaseModel):
    """One page of orders and the number of orders in all pages."""

    data: list[OrderPublic]
    count: int
    offset: int
    limit: int


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


class FaultsPublic(BaseModel):
    """The faults in force, by route template (``*``: every route)."""

    faults: dict[str, Fault]
