"""Credential checks over HTTP: the stdlib client in an executor, bounded by a timeout.

POST {"id", "pin", "caller_id"} as JSON. 2xx with {"ok": true, "attributes": {...}} is a good
login (attributes are optional); {"ok": false}, 401 or 403 a wrong one; anything else (another
status, bad JSON, no answer in time) is an error, which the flow treats apart from a wrong PIN.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any


class WebhookError(Exception):
    """The webhook did not give a usable answer."""


def _post(url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read(65536))
    except urllib.error.HTTPError as e:
        return int(e.code), b""
    except TimeoutError:
        raise WebhookError(f"{url}: no answer within {timeout} s") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise WebhookError(f"{url}: no answer within {timeout} s") from None
        raise WebhookError(f"{url}: {e.reason}") from None
    except (OSError, ValueError) as e:
        raise WebhookError(f"{url}: {e}") from None


async def verify(
    url: str, ident: str, pin: str, caller_id: str, timeout: float
) -> bool | dict[str, Any]:
    body = json.dumps({"id": ident, "pin": pin, "caller_id": caller_id}).encode()
    loop = asyncio.get_running_loop()
    try:
        status, data = await asyncio.wait_for(
            loop.run_in_executor(None, _post, url, body, timeout), timeout
        )
    except TimeoutError:
        raise WebhookError(f"{url}: no answer within {timeout} s") from None
    if status in (401, 403):
        return False
    if not 200 <= status < 300:
        raise WebhookError(f"{url}: HTTP status {status}")
    try:
        answer = json.loads(data)
    except ValueError:
        raise WebhookError(f"{url}: the answer is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        raise WebhookError(f"{url}: the answer has no boolean 'ok'")
    if not answer["ok"]:
        return False
    attributes = answer.get("attributes", {})
    return attributes if isinstance(attributes, dict) and attributes else True
