"""The engine's problems put beside the fields that caused them.

The forms check what was typed; the engine's own parser then judges the assembled rules, and
each problem it names by path (``benefits[0].stay_cap.local``) is put beside the field that
caused it, so there is one source of truth for what a usable plan is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django import forms

from plans.rule_forms.benefits import BenefitBundle

_PATH_PART = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


def _split_path(path: str) -> list[str | int]:
    """ "benefits[1].stay_cap.local" → ["benefits", 1, "stay_cap", "local"]."""
    parts: list[str | int] = []
    for piece in path.split(".") if path else ():
        match = _PATH_PART.match(piece)
        if not match:
            return [path]
        parts.append(match.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return parts


class _ErrorPlacement:
    """The part of ``RulesEditor`` that puts the engine's problems beside the fields. It reads
    the editor's forms and formsets, ``benefits``, ``top_errors`` and ``_kept`` (the rows that
    counted when the rules were assembled)."""

    # -- engine errors → fields --

    def _place_errors(self, errors: list[tuple[str, str]], forms_ok: bool) -> None:
        """Put each engine problem beside its field. While some fields already show errors,
        problems about a whole section are held back: they may only echo a field left out."""
        targets = [(self._locate(path), path, message) for path, message in errors]
        broken = {
            id(form): set(form.errors)
            for form in self._all_forms()
            if getattr(form, "_errors", None) is not None
        }
        for (obj, field), path, message in targets:
            if obj is None:
                if forms_ok:
                    self.top_errors.append(f"{path}: {message}" if path else message)
            elif field is not None:
                if field not in broken.get(id(obj), ()):
                    obj.add_error(field, message)
            elif isinstance(obj, forms.BaseForm):
                if forms_ok and message not in obj.non_field_errors():
                    obj.add_error(None, message)
            elif forms_ok and message not in obj.non_form_errors():
                obj.non_form_errors().append(message)

    def _all_forms(self) -> Iterator[forms.BaseForm]:
        for section in self._sections():
            yield from getattr(section, "forms", [section])
        for bundle in self.benefits:
            yield from bundle.tiers.forms
            yield from bundle.documents.forms

    def _locate(self, path: str) -> tuple[Any, str | None]:
        """(form, field name), (form, None) for a form-wide problem, (formset, None) for a
        formset-wide problem, or (None, None) when no form can show it."""
        parts = _split_path(path)
        nowhere = (None, None)
        if not parts:
            return nowhere
        head, rest = parts[0], parts[1:]
        if head in self.general.fields and not rest:
            return self.general, head
        sections = {
            "eligibility": self.eligibility,
            "shares": self.shares,
            "fees": self.fees,
            "funding": self.funding,
        }
        if head in sections:
            form = sections[head]
            if not rest:
                return form, None
            if rest[0] in form.fields and len(rest) == 1:
                return form, rest[0]
            lists = {("fees", "subsidies"): "subsidies", ("funding", "min_shares"): "min_shares"}
            lists[("funding", "modes")] = "modes"
            name = lists.get((head, rest[0]))
            if name:
                return self._locate_row(getattr(self, name), self._kept[name], rest[1:])
            return form, None
        if head == "participation":
            return self._locate_row(self.participation, self._kept["participation"], rest)
        if head == "benefits":
            return self._locate_benefit(rest)
        return nowhere

    @staticmethod
    def _locate_row(formset, kept: list, rest: list) -> tuple[Any, str | None]:
        if not rest:
            return formset, None
        index = rest[0]
        if not isinstance(index, int) or index >= len(kept):
            return formset, None
        form = kept[index]
        if len(rest) >= 2 and rest[1] in form.fields:
            return form, rest[1]
        return form, None

    def _locate_benefit(self, rest: list) -> tuple[Any, str | None]:
        kept = self._kept["benefits"]
        if not rest:
            return self.benefit_formset, None
        index = rest[0]
        if not isinstance(index, int) or index >= len(kept):
            return self.benefit_formset, None
        bundle: BenefitBundle = kept[index]
        form = bundle.form
        if len(rest) == 1:
            return form, None
        key, more = rest[1], rest[2:]
        if key in ("tiers", "documents"):
            formset = getattr(bundle, key)
            rows = self._kept.get(key, {}).get(id(bundle), [])
            return self._locate_row(formset, rows, more)
        if key in ("daily_rate", "stay_cap") and more and f"{key}_{more[0]}" in form.fields:
            return form, f"{key}_{more[0]}"
        if key == "disability_percent" and more and f"grade_{more[0]}" in form.fields:
            return form, f"grade_{more[0]}"
        if key in form.fields and not more:
            return form, key
        return form, None
