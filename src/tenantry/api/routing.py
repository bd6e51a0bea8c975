"""One transaction per request, wrapped around the whole route (dependencies included).

The response is returned only after the commit succeeded. On any error the transaction is
rolled back and the work the services queued in ``ctx.after_rollback`` (audits of denials,
sign-in failure counts) runs in a fresh transaction of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from tenantry.core.context import Context
from tenantry.core.db import database_failure, transaction
from tenantry.core.errors import Conflict, InvalidInput

log = logging.getLogger("tenantry.api")


def _after_rollback(factory: sessionmaker[Session], ctx: Context) -> None:
    try:
        with transaction(factory) as session:
            fresh = ctx.with_session(session)
            for work in ctx.after_rollback:
                work(fresh)
    except Exception:  # the request's own error matters more; keep serving it
        log.exception("after-rollback work failed (request %s)", ctx.request_id)


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


class TransactionalRoute(APIRoute):
    """Each step that touches the database is one hop to the thread pool, not several: on a
    busy server every hop waits for a worker thread."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            factory: sessionmaker[Session] = request.app.state.sessions
            session = factory()
            request.state.session = session
            request.state.context = None
            try:
                response = await handler(request)
                await run_in_threadpool(_commit_and_close, session)
                return response
            except BaseException as exc:
                # Closed before the after-rollback work, so nothing can touch it again.
                await run_in_threadpool(_rollback_and_close, session)
                ctx: Context | None = request.state.context
                if ctx is not None and ctx.after_rollback:
                    await run_in_threadpool(_after_rollback, factory, ctx)
                if (failure := database_failure(exc)) is not None:
                    raise failure from exc
                if isinstance(exc, DataError):
                    raise InvalidInput("A value is not acceptable to the database.") from exc
                if isinstance(exc, IntegrityError):
                    raise Conflict(
                        "That conflicts with something that already exists.", slug="duplicate"
                    ) from exc
                raise

        return run
