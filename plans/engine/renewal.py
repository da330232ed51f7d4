"""Renewal: who was added, dropped and changed compared with the unit's previous period."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# How many names of each kind are kept for the page; the counts are always complete.
LIST_LIMIT = 1000

COMPARED = (
    ("name", "姓名"),
    ("phone", "手机号"),
    ("employment_type", "用工类型"),
    ("shares", "份数"),
    ("bank_card", "银行卡号"),
)


@dataclass(frozen=True)
class Holder:
    """Someone covered last period, as the previous enrollment recorded them."""

    id_number: str
    name: str
    phone: str
    employment_type: str
    shares: int
    bank_card: str


def renewal_compare(previous: Iterable[Holder], current: Iterable[object]) -> dict:
    """Compare last period's holders with this roster's rows (anything with the same fields)."""
    before = {h.id_number: h for h in previous}
    now = {}
    for row in current:
        if row.id_number and row.id_number not in now:
            now[row.id_number] = row
    added = [k for k in now if k not in before]
    dropped = [k for k in before if k not in now]
    changed = []
    for key in now.keys() & before.keys():
        diffs = []
        for field, label in COMPARED:
            old, new = getattr(before[key], field), getattr(now[key], field)
            if (old or "") != (new or "") and not (field == "bank_card" and not new):
                diffs.append(
                    {"field": label, "before": _show(field, old), "after": _show(field, new)}
                )
        if diffs:
            changed.append({"name": now[key].name, "id": _mask(key), "changes": diffs})
    return {
        "previous": len(before),
        "added_count": len(added),
        "dropped_count": len(dropped),
        "changed_count": len(changed),
        "added": [{"name": now[k].name, "id": _mask(k)} for k in added[:LIST_LIMIT]],
        "dropped": [{"name": before[k].name, "id": _mask(k)} for k in dropped[:LIST_LIMIT]],
        "changed": sorted(changed, key=lambda c: c["name"])[:LIST_LIMIT],
    }


def _mask(number: str) -> str:
    from plans.engine.identity import mask_id_number

    return mask_id_number(number)


def _show(field: str, value: object) -> str:
    from plans.engine.identity import mask_bank_card, mask_phone

    if value is None:
        return ""
    if field == "bank_card":
        return mask_bank_card(str(value))
    if field == "phone":
        return mask_phone(str(value))
    return str(value)
