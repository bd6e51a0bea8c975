"""A small receiver of Tenantry's webhooks: verifies each delivery with the Standard Webhooks
library and prints the event, one JSON object per line.

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 9000

Register it first (the secret is shown once, in the answer):

    curl -X POST https://tenantry.example.com/api/v1/tenants/$TID/webhooks \\
         -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
         -d '{"url": "https://hooks.example.com/tenantry", "events": ["user.created"]}'

What a receiver should do, and this one does:

* verify the signature over the raw body before anything else (``Webhook.verify`` also refuses
  a ``webhook-timestamp`` more than five minutes away from now: a replayed capture);
* answer 2xx quickly (Tenantry retries anything else with backoff) and do the work after;
* process each ``webhook-id`` once: a retry, and a replay from the deliveries list, carry the
  same id.

During a secret rotation Tenantry signs with both secrets; give this receiver the new one
whenever you like within the overlap. Standard library only, besides ``standardwebhooks``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

MAX_BODY = 1024 * 1024


class Receiver(BaseHTTPRequestHandler):
    webhook: Webhook
    seen: set[str] = set()
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._answer(413)
            return
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            event = self.webhook.verify(body, headers)
        except WebhookVerificationError as exc:
            print(json.dumps({"verified": False, "error": str(exc)}), flush=True)
            self._answer(400)
            return
        message_id = headers["webhook-id"]
        with self.lock:
            duplicate = message_id in self.seen
            self.seen.add(message_id)
        print(
            json.dumps(
                {
                    "verified": True,
                    "duplicate": duplicate,
                    "webhook_id": message_id,
                    "type": event["type"],
                    "timestamp": event["timestamp"],
                    "data": event["data"],
                }
            ),
            flush=True,
        )
        self._answer(204)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the events are the output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--secret",
        default=os.environ.get("WEBHOOK_SECRET", ""),
        help="the endpoint's whsec_ secret (default: $WEBHOOK_SECRET)",
    )
    arguments = parser.parse_args()
    if not arguments.secret:
        parser.error("give the endpoint's secret with --secret or WEBHOOK_SECRET")
    Receiver.webhook = Webhook(arguments.secret)
    server = ThreadingHTTPServer((arguments.host, arguments.port), Receiver)
    print(json.dumps({"listening": f"http://{arguments.host}:{arguments.port}/"}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
