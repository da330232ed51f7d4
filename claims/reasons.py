"""What each rejection reason code means, in words a member can understand.

The codes are the payout engine's (CONTRACTS §4) and never change once shipped; the texts are
printed on the decision notice (理赔决定通知书) a member receives. Each is a whole sentence
that can stand on its own line of a numbered list.
"""

from __future__ import annotations

# The engine owns the texts, so the page, the notice and the engine's own lines say the same
# thing; not_covered, for instance, also covers costs below the deductible and work injuries.
from plans.engine.payout import REASON_TEXT  # noqa: E402

# An unknown code must still print as a sentence the member can act on; the code itself is
# kept in brackets so the office can look it up when the member calls.
_UNKNOWN = "不符合保障计划规定的给付条件（原因代码：{code}），详情请向所在单位工会或办事处咨询。"


def reason_text(code: str) -> str:
    """The plain-Chinese sentence for a rejection reason code."""
    return REASON_TEXT.get(code) or _UNKNOWN.format(code=code)
