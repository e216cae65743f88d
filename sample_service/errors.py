"""The service's exception tree.

Each class names its HTTP status and error code; :mod:`sample_service.api.errors`
maps them to answers in one place::

    ServiceError                 500
    ├── OrderNotFoundError       404  no order with that id
    ├── AdminAuthError           401  missing or wrong admin token
    ├── AdminDisabledError       403  no admin token configured: admin endpoints are off
    └── InjectedFaultError       500  the fault switch made this request fail
"""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 500
    code = "internal_error"


class OrderNotFoundError(ServiceError):
    status_code = 404
    code = "not_found"

    def __init__(self, order_id: int) -> None:
        super().__init__(f"order {order_id} does not exist")
        self.order_id = order_id


class AdminAuthError(ServiceError):
    status_code = 401
    code = "unauthorized"

    def __init__(self) -> None:
        super().__init__("the admin endpoints need 'Authorization: Bearer <ORDERS_ADMIN_TOKEN>'")


class AdminDisabledError(ServiceError):
    status_code = 403
    code = "admin_disabled"

    def __init__(self) -> None:
        super().__init__("admin endpoints are off: set ORDERS_ADMIN_TOKEN to enable them")


class InjectedFaultError(ServiceError):
    status_code = 500
    code = "injected_fault"

    def __init__(self, route: str) -> None:
        super().__init__(f"fault injected into {route} by the fault switch")
        self.route = route
