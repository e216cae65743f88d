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

Lines are written by a background thread (``QueueHandler`` and
``QueueListener``): the request path only notes the span and queues the
record. Writing on the event loop blocked it in ``write()`` once per request,
and the thread that took the GIL meanwhile kept it for up to the switch
interval: about 150 us of the loop's time per request in a profile under
load (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from opentelemetry import trace

LOGGER_NAME = "sample_service"
#: The record attribute that carries the span current when it was logged.
SPAN_CONTEXT = "otel_span_context"
ECS_VERSION = "8.11.0"


def timestamp(created: float) -> str:
    """``2026-11-24T10:45:36.450Z``: milliseconds, UTC as ``Z``, as the log shipper parses it."""
    moment = datetime.fromtimestamp(created, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class EcsJsonFormatter(logging.Formatter):
    """Formats a record as one ECS JSON line, with the ids of the span it was logged in.

    It runs on :class:`BackgroundHandler`'s listener thread, where no span is
    current: the span is the one ``prepare`` noted on the record.
    """

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "@timestamp": timestamp(record.created),
            "log.level": record.levelname,
            "log.logger": record.name,
            "message": record.getMessage(),
            "service.name": self.service_name,
            "ecs.version": ECS_VERSION,
        }
        context = getattr(record, SPAN_CONTEXT, None)
        if context is not None:
            doc["trace.id"] = trace.format_trace_id(context.trace_id)
            doc["span.id"] = trace.format_span_id(context.span_id)
        extra = getattr(record, "ecs", None)
        if isinstance(extra, dict):
            doc.update(extra)
        if record.exc_info:
            doc["error.type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            doc["error.stack_trace"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class BackgroundHandler(logging.handlers.QueueHandler):
    """Queues records for ``handlers``, which a listener thread runs.

    The span current when the record was made is kept on it (the listener's
    thread has none), as are the message and the stack trace, formatted at
    once so that nothing the record points to can change before it is written.
    ``flush`` and ``close`` wait until every queued line is written
    (``logging.shutdown`` calls both at exit); ``stop`` also ends the thread.
    """

    def __init__(self, handlers: list[logging.Handler]) -> None:
        self.records: queue.Queue[logging.LogRecord] = queue.Queue()
        super().__init__(self.records)
        self.listener = logging.handlers.QueueListener(
            self.records, *handlers, respect_handler_level=True
        )
        self.listener.start()
        self.running = True

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            setattr(record, SPAN_CONTEXT, context)
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        return record

    def flush(self) -> None:
        if self.running:  # wait until the listener has written every queued record
            self.records.join()
        for handler in self.listener.handlers:
            handler.flush()

    def close(self) -> None:
        """Write what is queued, and go on working.

        ``logging.shutdown`` and ``logging.config.dictConfig`` (which uvicorn
        calls when it starts, after the app is built) close every handler;
        a closed stream or file handler still writes, and so must this one.
        """
        self.flush()
        super().close()

    def stop(self) -> None:
        """Write what is queued, end the thread and close ``handlers``: for good."""
        if self.running:
            self.running = False
            self.listener.stop()
        for handler in self.listener.handlers:
            handler.close()


def configure_logging(
    *,
    service_name: str,
    level: str = "INFO",
    stream: IO[str] | None = None,
    log_file: Path | None = None,
) -> logging.Logger:
    """The service's logger, writing ECS JSON to ``stream`` (stdout if None) and ``log_file``.

    Calling it again replaces the handlers, so one process can build several apps.
    Lines are written by a background thread; ``logger.handlers[0].flush()``
    waits for them.
    """
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        if isinstance(handler, BackgroundHandler):
            handler.stop()
        handler.close()
    formatter = EcsJsonFormatter(service_name)
    handlers: list[logging.Handler] = [logging.StreamHandler(stream)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=10_000_000, backupCount=3, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter)
    logger.addHandler(BackgroundHandler(handlers))
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger
