"""What each rejection reason code means, in words a member can understand.

The codes are the payout engine's (CONTRACTS §4) and never change once shipped; the texts are
printed on the decision notice (理赔决定通知书) a member receives, so they avoid the office's
jargon and say what happened, not which rule fired. Each is a whole sentence that can stand on
its own line of a numbered list.
"""

from __future__ import annotations

REASON_TEXT: dict[str, str] = {
    "not_covered": (
        "出险日期不在您的保障期间内（保障期间以参保凭证为准），本次事故或疾病不在保障范围内。"
    ),
    "waiting_period": (
        "疾病在等待期内发生或确诊。按保障计划规定，保障开始后的一段时间为等待期，"
        "等待期内发生或确诊的疾病不能给付。"
    ),
    "hospital_grade_too_low": (
        "就诊医院的等级低于保障计划的要求。本计划只对在规定等级及以上医院的住院给付。"
    ),
    "stay_too_short": "住院天数未达到保障计划规定的最少天数。",
    "claim_count_exceeded": "本保障期间内该项目的给付次数已经用完。",
    "period_cap_reached": "本保障期间内该项目已经给付到规定的最高金额，不能再给付。",
    "benefit_already_paid": "该项目在本保障期间内只能给付一次，此前已经给付过。",
    "filing_deadline_passed": "申请时间超过了保障计划规定的申请期限（自出险之日起计算）。",
    "benefit_not_in_plan": "您参加的保障计划不包含所申请的保障项目。",
}

# An unknown code must still print as a sentence the member can act on; the code itself is
# kept in brackets so the office can look it up when the member calls.
_UNKNOWN = "不符合保障计划规定的给付条件（原因代码：{code}），详情请向所在单位工会或办事处咨询。"


def reason_text(code: str) -> str:
    """The plain-Chinese sentence for a rejection reason code."""
    return REASON_TEXT.get(code) or _UNKNOWN.format(code=code)
