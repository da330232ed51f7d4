"""One row per piece of background work, written in the same transaction as the change that
needs it (a transactional outbox): if the change commits, the work is on record and will run;
if it rolls back, there is nothing to run."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be queued")
        SENT = "sent", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    # The Celery task, by its registered name ("enrollment.tasks.roster_import"), and its
    # arguments: ids and tokens only, never personal data.
    name = models.CharField(_("task"), max_length=100)
    args = models.JSONField(default=list, blank=True)
    # The record the work is for ("roster:12", "claim:5"), and its union, for scope.
    subject = models.CharField(_("record"), max_length=48, blank=True)
    union = models.ForeignKey(
        "organisation.Union", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default="pending")
    attempts = models.PositiveSmallIntegerField(_("runs started"), default=0)
    deaths = models.PositiveSmallIntegerField(_("runs lost with their worker"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What went wrong, in a sentence for office staff (never a traceback or personal data).
    error = models.CharField(_("problem"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [
            # The sweeper's and the staff page's questions: what is not finished, by state.
            models.Index(
                fields=["state", "created_at"],
                name="outbox_unfinished",
                condition=~models.Q(state="done"),
            ),
            models.Index(fields=["subject", "state"], name="outbox_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.subject} ({self.state})"
