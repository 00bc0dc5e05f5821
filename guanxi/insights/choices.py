"""Choices of the insight fields, with translatable labels.

The stored values are the codes the analytics core returns (``guanxi.analytics.rules``,
``guanxi.analytics.rfm``), with spaces and apostrophes made into identifiers.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    """Where a refresh run stands."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class RunTrigger(models.TextChoices):
    """What started a refresh run."""

    MANUAL = "manual", _("Refresh now (web)")
    COMMAND = "command", _("Command line")
    SCHEDULE = "schedule", _("Nightly schedule")


class Stage(models.TextChoices):
    """The stages of a refresh, timed one by one."""

    SUMMARY = "summary", _("Summary")
    FIT = "fit", _("Model fit")
    SCORE = "score", _("Scoring")
    WRITE = "write", _("Writing results")


class LadderStage(models.TextChoices):
    """The customer ladder (客户升级); codes of ``guanxi.analytics.rules.ladder_stage``."""

    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("First-time customer")
    CLIENT = "client", _("Repeat customer")
    SUPPORTER = "supporter", _("Supporter")
    ADVOCATE = "advocate", _("Loyal advocate")
    CHURNED = "churned", _("Lapsed")


#: Rank of each stage on the ladder (lapsed below all), for counting upgrades.
LADDER_RANK = {
    LadderStage.CHURNED: 0,
    LadderStage.PROSPECT: 1,
    LadderStage.CUSTOMER: 2,
    LadderStage.CLIENT: 3,
    LadderStage.SUPPORTER: 4,
    LadderStage.ADVOCATE: 5,
}


class RelationshipLevel(models.TextChoices):
    """Kotler's five relationship levels."""

    BASIC = "basic", _("Basic")
    REACTIVE = "reactive", _("Reactive")
    ACCOUNTABLE = "accountable", _("Accountable")
    PROACTIVE = "proactive", _("Proactive")
    PARTNERSHIP = "partnership", _("Partnership")


class RelationshipTier(models.TextChoices):
    """The three tiers of relationship marketing (三级关系营销)."""

    FINANCIAL = "financial", _("Financial bonds (tier 1)")
    SOCIAL = "social", _("Social bonds (tier 2)")
    STRUCTURAL = "structural", _("Structural bonds (tier 3)")


class RFMSegment(models.TextChoices):
    """Named RFM segments (``guanxi.analytics.rfm.SEGMENT_RULES``)."""

    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALISTS = "potential_loyalists", _("Potential loyalists")
    NEW = "new", _("New")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    CANT_LOSE = "cant_lose", _("Can't lose them")
    AT_RISK = "at_risk", _("At risk")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


def segment_code(name: str) -> str:
    """The stored code of an analytics segment name (``"can't lose"`` -> ``"cant_lose"``)."""
    return name.replace("'", "").replace(" ", "_")


class ABCGrade(models.TextChoices):
    """ABC grades (客户分级管理)."""

    A = "A", _("A")
    B = "B", _("B")
    C = "C", _("C")


class ChurnRisk(models.TextChoices):
    """Churn risk band: from P(alive) where the customer has one, else from recency."""

    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class PortfolioQuadrant(models.TextChoices):
    """Value x expected loyalty (Reinartz & Kumar 2002)."""

    TRUE_FRIENDS = "true_friends", _("True friends")
    BUTTERFLIES = "butterflies", _("Butterflies")
    BARNACLES = "barnacles", _("Barnacles")
    STRANGERS = "strangers", _("Strangers")


class FitFailure(models.TextChoices):
    """Why the probabilistic models were not used (the rule-based scores still are)."""

    TOO_FEW_CUSTOMERS = "too_few_customers", _("Too few customers")
    TOO_FEW_REPEAT = "too_few_repeat", _("Too few repeat customers")
    TOO_SHORT = "too_short", _("History too short")
    NOT_CONVERGED = "not_converged", _("No convergence")
    ERROR = "error", _("Fitting error")
