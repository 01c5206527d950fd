"""Judge calibration (daily): the judge is a pinned model too (issue 17.5, SPEC 4.3).

1. the configured judge judges the shipped calibration set (known verdicts) with the
   production rubric, runner and parser; unusable answers count as disagreements;
2. accuracy and Cohen's kappa are stored, and tested against the pinned run of this
   judge model and rubric (the first complete run, or one pinned by hand);
3. a significant drop raises judge_drift, so a drifting judge is not mistaken for a
   drifting application;
4. publish the figures as an artifact, rebuild the reports site, deliver notifications.

A run that could not judge every item (endpoint down or refusing us) is stored as
incomplete and fails, after the site and notifications are done.
"""

from __future__ import annotations

from prefect import flow

from llmwatch.judge.calibration import CalibrationResult
from tasks.alerts import deliver_pending_alerts
from tasks.judge_calibration import judge_calibration_set, publish_calibration
from tasks.site import regenerate_site


class JudgeCalibrationIncomplete(RuntimeError):
    """The judge endpoint stopped the run before every item was judged."""


@flow(name="judge-calibration")
async def judge_calibration(pin: bool = False) -> CalibrationResult:
    result = await judge_calibration_set(pin)
    publish_calibration(result)
    regenerate_site()
    deliver_pending_alerts()

    if result.verdict == "incomplete" and result.stopped in ("circuit_open", "fatal"):
        raise JudgeCalibrationIncomplete(
            f"judge endpoint stopped the calibration run ({result.stopped}) after "
            f"{result.agreement.n} of {result.n_items} items"
        )
    return result
