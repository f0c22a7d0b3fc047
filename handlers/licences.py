"""``licence-number``: registers a granted licence under the next number of its year.

Numbers are ``BI-LIC-YYYY-NNNN``, gap-free per calendar year in Brussels: the engine draws
them from a sequence in the same transaction that records the licence (see
:class:`handlers.registry.NumberRequest`), so concurrent grants never share a number and a
failed registration leaves no hole in the register.

Output: ``licence_number`` and ``licence_issued_on`` (ISO date, Brussels).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from handlers.registry import HandlerContext, HandlerResult, NumberRequest

BRUSSELS = ZoneInfo("Europe/Brussels")


def handle(ctx: HandlerContext) -> HandlerResult:
    issued_on = ctx.now.astimezone(BRUSSELS).date()
    year = issued_on.year
    return HandlerResult(
        output={"licence_issued_on": issued_on.isoformat()},
        numbers=(NumberRequest("licence_number", f"BI-LIC-{year}",
                               f"BI-LIC-{year}-{{n:04d}}"),))
