"""Routers of the public API, one per area."""

from fastapi import APIRouter

from tenantry.api.problems import PROBLEM_RESPONSES
from tenantry.api.routing import TransactionalRoute


def router(tag: str) -> APIRouter:
    return APIRouter(route_class=TransactionalRoute, responses=PROBLEM_RESPONSES, tags=[tag])
