"""``erdf-selection``: the bookkeeping of an ERDF call for projects (``erdf_project_selection``).

One topic, three steps chosen by the service task's ``step`` property:

- ``rank``: the expert committee's ranking. Admissible applications that reach the
  minimum score are ranked by score (ties: the smaller ERDF amount first, then the
  reference) and proposed for selection in that order while the call's budget envelope
  lasts; the next ones go to the reserve list. Output: ``ranking`` (the ranked projects,
  each with ``rank`` and ``proposal``), ``proposal_summary`` (text for the Government) and
  ``proposed_refs``.
- ``decide``: applies the Government decision. When it follows the ranking, the proposal
  stands; when it departs from it (``departs_from_ranking``), the projects named in
  ``government_selected_refs`` are selected and the other ranked projects stay in reserve.
  Everything else (inadmissible, below the threshold) is rejected. Output: ``selected``,
  ``reserve``, ``rejected`` (lists), their counts, ``to_sign`` (the grant agreements to
  sign), ``signed_total`` and ``budget_left``, ``decision_summary``, ``applicant_emails``
  and ``complaints_handled`` (0).
- ``budget``: after a round of grant agreements (``to_sign`` with ``signed`` and
  ``eu_amount``), adds the signed amounts to ``signed_total``, computes ``budget_left``
  and offers the first reserve project that fits in it: ``reserve_available``,
  ``next_reserve`` (taken off ``reserve``), ``next_reserve_ref``, ``next_reserve_title``,
  ``next_reserve_amount``.

Pure functions of the instance data: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.registry import HandlerContext, HandlerResult


def _amount(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _refs(text: Any) -> list[str]:
    return [part.strip() for part in str(text or "").replace(";", ",").split(",")
            if part.strip()]


def _line(project: Mapping[str, Any]) -> str:
    score = project.get("score")
    points = f"{score} pts, " if score is not None else ""
    return (f"{project.get('ref')} {project.get('title')} ({project.get('applicant')}): "
            f"{points}EUR {_amount(project.get('requested_amount')):,.2f}")


def rank(data: Mapping[str, Any]) -> dict[str, Any]:
    applications = [dict(a) for a in data.get("applications") or []]
    envelope = _amount(data.get("budget_envelope"))
    eligible = [a for a in applications if a.get("admissible") and a.get("above_threshold")]
    eligible.sort(key=lambda a: (-_amount(a.get("score")), _amount(a.get("requested_amount")),
                                 str(a.get("ref"))))
    committed, ranking, budget_open = 0.0, [], True
    for position, project in enumerate(eligible, start=1):
        amount = _amount(project.get("requested_amount"))
        if budget_open and committed + amount <= envelope:
            committed += amount
            proposal = "selected"
        else:
            budget_open = False  # the ranking is followed: no skipping to smaller projects
            proposal = "reserve"
        ranking.append({**project, "rank": position, "proposal": proposal})
    lines = [f"{p['rank']}. {_line(p)}: {p['proposal']}" for p in ranking]
    others = [a for a in applications if a not in eligible]
    lines += [f"-. {_line(a)}: rejected ("
              f"{'below the threshold' if a.get('admissible') else 'inadmissible'})"
              for a in others]
    return {
        "ranking": ranking,
        "proposed_refs": ", ".join(p["ref"] for p in ranking if p["proposal"] == "selected"),
        "proposal_summary": "\n".join(lines) or "No application to rank.",
        "proposed_total": round(committed, 2),
    }


def decide(data: Mapping[str, Any]) -> dict[str, Any]:
    ranking = [dict(p) for p in data.get("ranking") or []]
    applications = [dict(a) for a in data.get("applications") or []]
    envelope = _amount(data.get("budget_envelope"))
    if data.get("departs_from_ranking"):
        chosen = set(_refs(data.get("government_selected_refs")))
        selected = [p for p in ranking if p.get("ref") in chosen]
    else:
        selected = [p for p in ranking if p.get("proposal") == "selected"]
    selected_refs = {p.get("ref") for p in selected}
    reserve = [p for p in ranking if p.get("ref") not in selected_refs]
    ranked_refs = {p.get("ref") for p in ranking}
    rejected = [a for a in applications if a.get("ref") not in ranked_refs]
    committed = sum(_amount(p.get("requested_amount")) for p in selected)
    summary = ["Selected:"] + [f"  {_line(p)}" for p in selected]
    summary += ["Reserve list:"] + [f"  {_line(p)}" for p in reserve]
    summary += ["Rejected:"] + [f"  {_line(a)}" for a in rejected]
    emails = sorted({str(a.get("contact_email")) for a in applications if a.get("contact_email")})
    return {
        "selected": selected,
        "reserve": reserve,
        "rejected": rejected,
        "selected_count": len(selected),
        "reserve_count": len(reserve),
        "rejected_count": len(rejected),
        "to_sign": selected,
        "selected_total": round(committed, 2),
        "signed_total": 0.0,
        "budget_left": round(envelope, 2),
        "decision_summary": "\n".join(summary),
        "applicant_emails": ", ".join(emails) or "group:erdf-directorate",
        "complaints_handled": 0,
    }


def budget(data: Mapping[str, Any]) -> dict[str, Any]:
    envelope = _amount(data.get("budget_envelope"))
    signed_now = sum(_amount(p.get("eu_amount")) for p in data.get("to_sign") or []
                     if p.get("signed"))
    signed_total = round(_amount(data.get("signed_total")) + signed_now, 2)
    left = round(envelope - signed_total, 2)
    reserve = [dict(p) for p in data.get("reserve") or []]
    offered = next((p for p in reserve if 0 < _amount(p.get("requested_amount")) <= left), None)
    output: dict[str, Any] = {"signed_total": signed_total, "budget_left": left,
                              "reserve_available": offered is not None,
                              "to_sign": []}
    if offered is not None:
        reserve.remove(offered)
        output.update(next_reserve=offered, next_reserve_ref=offered.get("ref"),
                      next_reserve_title=offered.get("title"),
                      next_reserve_amount=_amount(offered.get("requested_amount")))
    output["reserve"] = reserve
    return output


STEPS = {"rank": rank, "decide": decide, "budget": budget}


def handle(ctx: HandlerContext) -> HandlerResult:
    step = ctx.properties.get("step")
    if step not in STEPS:
        raise ValueError(f"erdf-selection needs a 'step' property: one of {sorted(STEPS)}")
    return HandlerResult(output=STEPS[step](ctx.data))
