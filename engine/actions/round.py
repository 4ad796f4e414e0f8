"""## `round`

Makes numbers and timestamps coarser. Give exactly one of:

| option | meaning |
|---|---|
| `digits` | round a number to this many decimals (0 to 10); `digits: 0` gives an integer |
| `step` | round a number to the nearest multiple of `step` (> 0), e.g. `step: 5` |
| `to` | cut an ISO 8601 timestamp to `hour`, `day`, `week` or `month` |

Numbers written as text (`"0.8531"`) are rounded and stay text. Timestamps: `to: day`
gives `YYYY-MM-DD`, `week` the date of that week's Monday (`YYYY-MM-DD`), `month`
`YYYY-MM`, `hour` `YYYY-MM-DDTHH:00` (a time of day: the leak check flags it unless a
policy allows it). The date is the one written in the timestamp (its own zone, naive or
aware): a timestamp is never shifted between zones. `null` stays `null`; anything else
that is no number (for `digits`/`step`) or no timestamp (for `to`) is an error naming
the rule and the path.

```yaml
rule:
  select: analytics.agents[*].timestamp
  action: round
  to: day
given: {"analytics": {"agents": [{"timestamp": "2026-01-30T16:05:40.641272"},
                                 {"timestamp": "2026-02-01T23:59:59+00:00"}]}}
expect: {"analytics": {"agents": [{"timestamp": "2026-01-30"}, {"timestamp": "2026-02-01"}]}}
```

```yaml
rule:
  select: capabilities.metrics[*].quality_score
  action: round
  digits: 2
given: {"capabilities": {"metrics": [{"quality_score": 0.5321}, {"quality_score": "0.8788"}]}}
expect: {"capabilities": {"metrics": [{"quality_score": 0.53}, {"quality_score": "0.88"}]}}
```

```yaml
rule:
  select: analytics.workflows[*].duration
  action: round
  step: 5
given: {"analytics": {"workflows": [{"duration": 61.7}, {"duration": 3}]}}
expect: {"analytics": {"workflows": [{"duration": 60}, {"duration": 5}]}}
```

```yaml
rule:
  select: memory[*].timestamp
  action: round
  to: week
given: {"memory": [{"timestamp": "2025-12-18T21:34:06.726399+00:00"}]}
expect: {"memory": [{"timestamp": "2025-12-15"}]}
```
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

from .base import Action, ActionValueError, OptionError, RunContext, as_number, type_name

UNITS = ("hour", "day", "week", "month")


def _prepare(options: dict[str, Any]) -> dict[str, Any]:
    given = [name for name in ("digits", "step", "to") if name in options]
    if len(given) != 1:
        raise OptionError(
            None,
            "round needs exactly one of digits, step and to"
            + (f"; it has {', '.join(given)}" if given else ""),
            hint="write digits: 2 for numbers, step: 5 for multiples, or to: day for timestamps",
        )
    params = dict(options)
    if "step" in params:
        step = Decimal(str(params["step"]))
        params["step_decimals"] = max(0, -step.as_tuple().exponent)  # type: ignore[operator]
    return params


def parse_timestamp(value: str) -> dt.datetime | None:
    text = value.strip()
    if len(text) < 10:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# The shape the framework writes (and most ISO 8601 text): checked by one regex, with
# each distinct day validated once, instead of a full parse per value.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d"
                  r"(?:\.\d{1,6})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?").fullmatch
_DAYS: dict[str, dt.date | None] = {}


def _day(text: str) -> dt.date | None:
    day = _DAYS.get(text)
    if day is None and text not in _DAYS:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
        if len(_DAYS) < 100_000:
            _DAYS[text] = day
    return day


def round_timestamp(value: str, unit: str) -> str | None:
    if unit != "hour" and _ISO(value) is not None:
        date = value[:10]
        day = _DAYS.get(date) or _day(date)  # a known good day, or look (dates are truthy)
        if day is None:
            return None
        if unit == "day":
            return date
        if unit == "week":
            return (day - dt.timedelta(days=day.weekday())).isoformat()
        return value[:7]
    stamp = parse_timestamp(value)
    if stamp is None:
        return None
    if unit == "hour":
        return stamp.strftime("%Y-%m-%dT%H:00")
    if unit == "day":
        return stamp.date().isoformat()
    if unit == "week":
        return (stamp.date() - dt.timedelta(days=stamp.weekday())).isoformat()
    return stamp.strftime("%Y-%m")


def _round_number(number: float | int, params: dict[str, Any]) -> float | int:
    if "digits" in params:
        digits = params["digits"]
        return int(round(number)) if digits == 0 else round(number, digits)
    step = params["step"]
    result = round(math.floor(number / step + 0.5) * step, params["step_decimals"])
    return int(result) if params["step_decimals"] == 0 else result


def _round(value: Any, params: dict[str, Any], ctx: RunContext) -> Any:
    if value is None:
        return None
    if "to" in params:
        if isinstance(value, str):
            result = round_timestamp(value, params["to"])
            if result is not None:
                return result
        raise ActionValueError(
            f"round to: {params['to']} needs an ISO 8601 timestamp, and this is "
            f"{type_name(value)}" + (" that is no timestamp" if isinstance(value, str) else ""),
            hint="select only timestamp fields, or drop this one",
        )
    parsed = as_number(value)
    if parsed is None:
        raise ActionValueError(
            f"round needs a number, and this is {type_name(value)}"
            + (" that is no number" if isinstance(value, str) else ""),
            hint="narrow the selector to numeric fields, e.g. with a filter [?type(x) == 'number']",
        )
    number, was_text = parsed
    try:
        result = _round_number(number, params)
    except OverflowError:  # 1e308 / 0.5 is infinity: no step to round it to
        raise ActionValueError(f"round cannot treat {number!r}: too large for step "
                               f"{params.get('step')}", hint="drop such values first, or "
                               "round with digits instead of a step") from None
    return str(result) if was_text else result


ACTION = Action(
    name="round",
    summary="round numbers (digits, step) or timestamps (to: hour/day/week/month)",
    treatment="rounded",
    options={
        "digits": {"type": "integer", "min": 0, "max": 10},
        "step": {"type": "number", "min": 0.000001},
        "to": {"type": "string", "allowed": list(UNITS)},
    },
    transform=_round,
    prepare=_prepare,
    doc=__doc__ or "",
)
