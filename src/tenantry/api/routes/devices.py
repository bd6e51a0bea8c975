"""Device management (never delegated to partners)."""

from __future__ import annotations

import uuid

from fastapi import Response

from tenantry.api.deps import Ctx, Cursor, Limit
from tenantry.api.routes import router
from tenantry.api.schemas.common import ItemList, page_of
from tenantry.api.schemas.directory import DeviceIn, DeviceOut, DevicePatch
from tenantry.directory import devices

api = router("devices")


@api.get("/tenants/{tid}/devices", response_model=ItemList[DeviceOut])
def list_devices(
    tid: uuid.UUID, ctx: Ctx, cursor: Cursor = None, limit: Limit = 50
) -> ItemList[DeviceOut]:
    page = devices.list_devices(ctx, tid, cursor=cursor, limit=limit)
    return page_of(page, DeviceOut)


@api.post("/tenants/{tid}/devices", status_code=201, response_model=DeviceOut)
def create_device(tid: uuid.UUID, body: DeviceIn, ctx: Ctx) -> DeviceOut:
    device = devices.create_device(
        ctx,
        tid,
        name=body.name,
        platform=body.platform,
        serial_number=body.serial_number,
        owner_user_id=body.owner_user_id,
    )
    return DeviceOut.model_validate(device)


@api.get("/tenants/{tid}/devices/{did}", response_model=DeviceOut)
def get_device(tid: uuid.UUID, did: uuid.UUID, ctx: Ctx) -> DeviceOut:
    return DeviceOut.model_validate(devices.get_device(ctx, tid, did))


@api.patch("/tenants/{tid}/devices/{did}", response_model=DeviceOut)
def patch_device(tid: uuid.UUID, did: uuid.UUID, body: DevicePatch, ctx: Ctx) -> DeviceOut:
    device = devices.update_device(ctx, tid, did, name=body.name, owner_user_id=body.owner_user_id)
    return DeviceOut.model_validate(device)


@api.delete("/tenants/{tid}/devices/{did}", status_code=204)
def delete_device(tid: uuid.UUID, did: uuid.UUID, ctx: Ctx) -> Response:
    devices.delete_device(ctx, tid, did)
    return Response(status_code=204)
