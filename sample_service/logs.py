"""JSON log lines with Elastic Common Schema names, so logs join traces.

Every line is one JSON object: ``@timestamp``, ``log.level`` (upper case, as
the SLO specs' evidence queries match it), ``log.logger``, ``message``,
``service.name``, ``ecs.version`` and, inside a span, ``trace.id`` and
``span.id`` (W3C hex, as Jaeger shows them). Fields passed as
``extra={"ecs": {...}}`` are added as they are (``http.request.method`` ...).

The handler goes on the service's own logger, not the root logger, and its
stream is injected, so an app in a test writes where the test reads.
ecs-logging would nest fields and wants Elastic APM for trace ids; this
formatter does what the service needs.

Lines are formatted where they are logged (where the span is current) and
written in batches by a background thread, every ``FLUSH_INTERVAL_S`` or
sooner when ``BATCH_LINES`` are waiting: one write per batch rather than per
line. Writing each line on the event loop blocked it in ``write()`` once per
request; handing each record to a thread (``QueueHandler``) woke that thread
once per request, and the wake-ups and GIL hand-overs cost about 80 us of
CPU per request under load (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

from opentelemetry import trace

LOGGER_NAME = "sample_service"
#: The longest a line waits before the background thread writes it.
FLUSH_INTERVAL_S = 0.1
#: Lines waiting that wake the background thread early.
BATCH_LINES = 256
ECS_VERSION = "8.11.0"
#: One encoder for every line: ``json.dumps(doc, default=str)`` makes a new one each call.
_ENCODER = json.JSONEncoder(default=str)
#: The C function json writes a string with (ensure_ascii): quoted, escaped.
_quote = json.encoder.encode_basestring_ascii
#: ``event.dataset`` of the access line, one per answered request.
ACCESS_DATASET = "orders.access"


def timestamp(created: float) -> str:
    """``2026-11-24T10:45:36.450Z``: milliseconds, UTC as ``Z``, as the log shipper parses it."""
    moment = datetime.fromtimestamp(created, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class EcsJsonFormatter(logging.Formatter):
    """Formats a record as one ECS JSON line, with the ids of the span current while formatting.

    :class:`BackgroundHandler` formats in the thread that logs, so that span is
    the one the record was logged in.
    """

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name
        self.second = (-1, "")  # the last whole second and its text, for timestamps
        # What every line has after its message, as JSON.
        self._after_message = (
            f'"service.name": {_quote(service_name)}, "ecs.version": {_quote(ECS_VERSION)}, '
        )
        #: Quoted texts that come again and again: levels, loggers, methods, routes.
        self._quoted: dict[str, str] = {}

    def _quote_known(self, text: str) -> str:
        quoted = self._quoted.get(text)
        if quoted is None:
            if len(self._quoted) >= 1024:  # routes and methods are few; never let it grow
                self._quoted.clear()
            quoted = self._quoted[text] = _quote(text)
        return quoted

    def timestamp(self, created: float) -> str:
        """As :func:`timestamp`; the date and time of day are worked out once a second."""
        whole = int(created)
        second, text = self.second
        if whole != second:
            text = timestamp(whole)[:-5]
            self.second = (whole, text)
        return f"{text}.{int((created - whole) * 1000):03d}Z"

    def line(
        self, created: float, level: str, logger: str, message: str, fields: Mapping[str, Any]
    ) -> str:
        """The JSON line of one event; ``fields`` (ECS names) are added as they are.

        The ids of the span current are added unless ``fields`` has ``span.id``.
        """
        doc: dict[str, Any] = {
            "@timestamp": self.timestamp(created),
            "log.level": level,
            "log.logger": logger,
            "message": message,
            "service.name": self.service_name,
            "ecs.version": ECS_VERSION,
        }
        if "span.id" not in fields:  # the caller may know the ids already
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                doc["trace.id"] = trace.format_trace_id(context.trace_id)
                doc["span.id"] = trace.format_span_id(context.span_id)
        doc.update(fields)
        return _ENCODER.encode(doc)

    def access_line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        access: AccessFields,
    ) -> str:
        """:meth:`line` of a request's access line (``access`` has its ids), the same text.

        Written as a template rather than a dict for the JSON encoder: the line
        is logged for every request, and most of it is the same every time.
        """
        method, status, route, path, duration, trace_id, span_id = access
        known = self._quote_known
        return (
            f'{{"@timestamp": "{self.timestamp(created)}", "log.level": {known(level)}, '
            f'"log.logger": {known(logger)}, "message": {_quote(message)}, '
            f'{self._after_message}"event.dataset": "{ACCESS_DATASET}", '
            f'"event.duration": {duration}, "http.request.method": {known(method)}, '
            f'"http.response.status_code": {status}, "http.route": {known(route)}, '
            f'"url.path": {_quote(path)}, "trace.id": "{trace_id}", "span.id": "{span_id}"}}'
        )

    def format(self, record: logging.LogRecord) -> str:
        extra = getattr(record, "ecs", None)
        fields = dict(extra) if isinstance(extra, dict) else {}
        if record.exc_info:
            fields["error.type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            fields["error.stack_trace"] = record.exc_text or self.formatException(record.exc_info)
        return self.line(record.created, record.levelname, record.name, record.getMessage(), fields)


def log_fields(logger: logging.Logger, level: int, message: str, fields: Mapping[str, Any]) -> None:
    """Write what ``logger.log(level, message, extra={"ecs": fields})`` would, more cheaply.

    The line goes straight to the logger's :class:`BackgroundHandler`,
    without a ``LogRecord``, the caller lookup or the handler lock: the path
    of the access line written for every request. A logger with other
    handlers gets the record as usual.
    """
    if not logger.isEnabledFor(level):
        return
    handlers = logger.handlers
    if len(handlers) == 1 and isinstance(handlers[0], BackgroundHandler):
        handlers[0].write(level, logger.name, message, fields)
    else:
        logger.log(level, "%s", message, extra={"ecs": fields})


class AccessFields(NamedTuple):
    """What an access line says of its request, beyond the time, level and message."""

    method: str
    status: int
    route: str
    path: str
    #: Nanoseconds from request to answer.
    duration: int
    #: The request's trace and span (None: not traced, as with ``OTEL_SDK_DISABLED``).
    trace_id: str | None
    span_id: str | None

    def fields(self) -> dict[str, str | int]:
        """The ECS fields of the line, for :func:`log_fields`."""
        fields: dict[str, str | int] = {
            "event.dataset": ACCESS_DATASET,
            "event.duration": self.duration,
            "http.request.method": self.method,
            "http.response.status_code": self.status,
            "http.route": self.route,
            "url.path": self.path,
        }
        if self.trace_id is not None and self.span_id is not None:
            fields["trace.id"] = self.trace_id
            fields["span.id"] = self.span_id
        return fields


def log_access(logger: logging.Logger, level: int, message: str, access: AccessFields) -> None:
    """:func:`log_fields` of an access line: the same line, written from a template."""
    if not logger.isEnabledFor(level):
        return
    handlers = logger.handlers
    handler = handlers[0] if len(handlers) == 1 else None
    # The template is for the service's own handler and a traced request; else as usual.
    if (
        access.trace_id is None
        or access.span_id is None
        or not isinstance(handler, BackgroundHandler)
    ):
        log_fields(logger, level, message, access.fields())
    elif level >= handler.level:
        name = logging.getLevelName(level)
        handler.queue(handler.ecs.access_line(time.time(), name, logger.name, message, access))


class BackgroundHandler(logging.Handler):
    """Formats records at once with ``formatter``; a thread writes the lines to ``handlers``.

    Each batch reaches each of ``handlers`` as one record whose message is the
    batch's lines, so they need a ``%(message)s`` formatter; a rotating file
    handler then rotates between batches. ``flush`` writes what is waiting
    (``logging.shutdown`` calls it at exit) and ``close`` does too and goes on
    working; ``stop`` also ends the thread.
    """

    def __init__(
        self,
        handlers: list[logging.Handler],
        formatter: EcsJsonFormatter,
        *,
        flush_interval: float = FLUSH_INTERVAL_S,
    ) -> None:
        super().__init__()
        self.flush_interval = flush_interval
        self.ecs = formatter
        self.setFormatter(formatter)
        self.handlers = handlers
        self.lines: deque[str] = deque()  # appended and popped without a lock
        self.written = threading.Lock()  # one batch at a time, in order
        self.wake = threading.Event()
        self.running = True
        self.thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self.thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # logging must not fail the caller
            self.handleError(record)
            return
        self.queue(line)

    def write(self, level: int, logger: str, message: str, fields: Mapping[str, Any]) -> None:
        """Queue one event's line without a record (:func:`log_fields`)."""
        if level >= self.level:
            name = logging.getLevelName(level)
            self.queue(self.ecs.line(time.time(), name, logger, message, fields))

    def queue(self, line: str) -> None:
        """Hand ``line`` (formatted) to the writer thread."""
        self.lines.append(line)
        if len(self.lines) >= BATCH_LINES:
            self.wake.set()

    def _run(self) -> None:
        while self.running:
            self.wake.wait(self.flush_interval)
            self.wake.clear()
            self.flush()

    def flush(self) -> None:
        """Hand every line logged so far to ``handlers``, as one record per batch."""
        with self.written:
            batch = [self.lines.popleft() for _ in range(len(self.lines))]  # only we pop
            if batch:
                record = logging.makeLogRecord({"msg": "\n".join(batch), "levelno": logging.INFO})
                for handler in self.handlers:
                    handler.handle(record)

    def close(self) -> None:
        """Write what is waiting, and go on working.

        ``logging.shutdown`` and ``logging.config.dictConfig`` (which uvicorn
        calls when it starts, after the app is built) close every handler;
        a closed stream or file handler still writes, and so must this one.
        """
        self.flush()
        super().close()

    def stop(self) -> None:
        """Write what is waiting, end the thread and close ``handlers``: for good."""
        if self.running:
            self.running = False
            self.wake.set()
            self.thread.join()
        self.flush()
        for handler in self.handlers:
            handler.close()


def configure_logging(
    *,
    service_name: str,
    level: str = "INFO",
    stream: IO[str] | None = None,
    log_file: Path | None = None,
    flush_interval: float = FLUSH_INTERVAL_S,
) -> logging.Logger:
    """The service's logger, writing ECS JSON to ``stream`` (stdout if None) and ``log_file``.

    Calling it again replaces the handlers, so one process can build several apps.
    Lines are written by a background thread every ``flush_interval`` seconds
    (or sooner, when ``BATCH_LINES`` wait); ``logger.handlers[0].flush()``
    waits for them.
    """
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        if isinstance(handler, BackgroundHandler):
            handler.stop()
        handler.close()
    # StreamHandler(None) would write to stderr; the lines are the service's output.
    out = stream if stream is not None else sys.stdout
    handlers: list[logging.Handler] = [logging.StreamHandler(out)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=10_000_000, backupCount=3, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(message)s"))
    formatter = EcsJsonFormatter(service_name)
    logger.addHandler(BackgroundHandler(handlers, formatter, flush_interval=flush_interval))
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger
