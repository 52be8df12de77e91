"""The minimised trace of a request kept with each consent event.

Enough to show how a choice was collected (which network, which kind of
browser), not enough to track anyone: the IP address is cut to its network
(/24 for IPv4, /48 for IPv6) and the user agent to 160 characters.
"""
from __future__ import annotations

import ipaddress
import re

from flask import Request


def minimised_ip(address: str | None) -> str | None:
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def request_trace(request: Request, **extra: str) -> dict:
    """Return the minimised trace of ``request``."""
    trace = {
        "ip_network": minimised_ip(request.remote_addr),
        "user_agent": (request.user_agent.string or "")[:160] or None,
        "route": _route(request),
    }
    trace.update(extra)
    return {k: v for k, v in trace.items() if v is not None}


def _route(request: Request) -> str:
    # A URL that carries a token (/u/…, /manage/…) keeps its shape, never the token.
    rule = request.url_rule
    if rule is None or not rule.arguments:
        return request.path
    return re.sub(r"<[^>]+>", "…", rule.rule)
