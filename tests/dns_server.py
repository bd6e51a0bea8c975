"""A real DNS server on loopback (dnslib) answering TXT queries from a dict the test fills."""

from __future__ import annotations

import socket
from typing import Any

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from tests.workers import free_port


class TxtResolver(BaseResolver):  # type: ignore[misc]
    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        values = self.records.get(name)
        if values is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in values:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        return reply


def free_udp_port() -> int:
    return free_port(socket.SOCK_DGRAM)


class LoopbackDns:
    def __init__(self) -> None:
        self.resolver = TxtResolver()
        self.port = free_udp_port()
        self.server = DNSServer(
            self.resolver,
            port=self.port,
            address="127.0.0.1",
            logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data"),
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def publish(self, name: str, value: str) -> None:
        self.resolver.records.setdefault(name.lower(), []).append(value)

    def start(self) -> None:
        self.server.start_thread()

    def stop(self) -> None:
        self.server.stop()
