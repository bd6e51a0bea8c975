"""Logging: plain text by default; with ``TENANTRY_LOG_FORMAT=json`` one JSON object per line
carrying the request id, for log collectors. Records hold only what the code puts in them:
never headers, cookies, tokens or passwords."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The id of the request being served (set by app.py's middleware), for every log line.
REQUEST_ID: ContextVar[str | None] = ContextVar("tenantry_request_id", default=None)
JSON_LOGGERS = ("tenantry", "uvicorn", "uvicorn.error")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, the record's
    ``fields`` extra (structured values such as an access line's route and status) and the
    exception, if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(log_format: str) -> None:
    """In JSON mode, Tenantry's and uvicorn's loggers write JSON lines to stderr (uvicorn's own
    access log is replaced by ``tenantry.access``, which names the route template, not the
    raw path with its ids and offer tokens). Idempotent: one handler per logger."""
    if log_format != "json":
        return
    for name in JSON_LOGGERS:
        logger = logging.getLogger(name)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.handlers = [handler]
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    logging.getLogger("uvicorn.access").disabled = True
