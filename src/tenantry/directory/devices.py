"""Devices of a tenant. Never reachable through delegation (see access/roles.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from tenantry import access
from tenantry.access.roles import Permission
from tenantry.audit import chain as audit
from tenantry.core.context import Context
from tenantry.core.errors import InvalidInput
from tenantry.core.pagination import Page, paginate
from tenantry.core.scoped import get_scoped
from tenantry.models import Device, User

PLATFORMS = ("windows", "macos", "ios", "android", "linux")


def list_devices(
    ctx: Context, tenant_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[Device]:
    access.require(ctx, tenant_id, Permission.DEVICES_READ)
    stmt: Select[Device] = select(Device).where(Device.tenant_id == tenant_id)
    return paginate(ctx.session, stmt, [Device.name, Device.id], cursor, limit)


def get_device(ctx: Context, tenant_id: uuid.UUID, device_id: uuid.UUID) -> Device:
    access.require(ctx, tenant_id, Permission.DEVICES_READ)
    return get_scoped(ctx.session, Device, device_id, tenant_id, "Device")


def _owner(ctx: Context, tenant_id: uuid.UUID, owner_user_id: uuid.UUID | None) -> None:
    if owner_user_id is not None:
        get_scoped(ctx.session, User, owner_user_id, tenant_id, "Owner")


def create_device(
    ctx: Context,
    tenant_id: uuid.UUID,
    *,
    name: str,
    platform: str,
    serial_number: str = "",
    owner_user_id: uuid.UUID | None = None,
) -> Device:
    access.require(ctx, tenant_id, Permission.DEVICES_CREATE)
    if not name.strip():
        raise InvalidInput("A device needs a name.")
    if platform not in PLATFORMS:
        raise InvalidInput(f"Platform is one of: {', '.join(PLATFORMS)}.")
    _owner(ctx, tenant_id, owner_user_id)
    device = Device(
        tenant_id=tenant_id,
        name=name.strip(),
        platform=platform,
        serial_number=serial_number.strip(),
        owner_user_id=owner_user_id,
        created_at=ctx.now,
    )
    ctx.session.add(device)
    ctx.session.flush()
    audit.record(
        ctx, tenant_id, "device.create", f"device:{device.id}", details={"name": device.name}
    )
    return device


def update_device(
    ctx: Context,
    tenant_id: uuid.UUID,
    device_id: uuid.UUID,
    *,
    name: str | None,
    owner_user_id: uuid.UUID | None,
) -> Device:
    access.require(ctx, tenant_id, Permission.DEVICES_UPDATE)
    device = get_scoped(ctx.session, Device, device_id, tenant_id, "Device")
    if name is not None:
        if not name.strip():
            raise InvalidInput("A device needs a name.")
        device.name = name.strip()
    if owner_user_id is not None:
        _owner(ctx, tenant_id, owner_user_id)
        device.owner_user_id = owner_user_id
    audit.record(ctx, tenant_id, "device.update", f"device:{device.id}")
    return device


def delete_device(ctx: Context, tenant_id: uuid.UUID, device_id: uuid.UUID) -> None:
    access.require(ctx, tenant_id, Permission.DEVICES_DELETE)
    device = get_scoped(ctx.session, Device, device_id, tenant_id, "Device")
    ctx.session.delete(device)
    audit.record(
        ctx, tenant_id, "device.delete", f"device:{device_id}", details={"name": device.name}
    )
