"""The audit log's one table."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One thing someone did to personal or business data, kept for the auditors.

    Rows are only ever added (on PostgreSQL a trigger refuses UPDATE and DELETE). The actor's
    name and role are copied, so the entry still reads true after the user changes. ``trail``
    names the record whose history the entry belongs to ("claim:12", "member:40"), so a claim's
    page can list everything done to it and to its documents with one indexed query.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        DELETE = "delete", _("Deleted")
        BULK = "bulk", _("Bulk change")
        VIEW = "view", _("Viewed in full")
        DOWNLOAD = "download", _("Downloaded")
        PURGE = "purge", _("Purged under retention rules")
        LOGIN = "login", _("Signed in")
        LOGOUT = "logout", _("Signed out")
        LOGIN_FAILED = "login_failed", _("Sign-in failed")
        # A number not shown in full because the user reached the limit (mutualaid/reveals.py).
        REFUSED = "refused", _("Refused: limit reached")

    class Source(models.TextChoices):
        WEB = "web", _("Web")
        WORKER = "worker", _("Background worker")
        COMMAND = "command", _("Command line")

    at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(_("username"), max_length=150, blank=True)
    actor_role = models.CharField(_("role"), max_length=20, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    object_type = models.CharField(_("record type"), max_length=32)
    object_id = models.CharField(_("record id"), max_length=40, blank=True)
    object_label = models.CharField(_("record"), max_length=200, blank=True)
    trail = models.CharField(max_length=48, blank=True)
    union = models.ForeignKey(
        "organisation.Union",
        verbose_name=_("union"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    count = models.PositiveIntegerField(_("records"), default=1)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    # What happened, as a key of mutualaid.auditlog.audit.NOTES (translated when shown), and
    # its values.
    note = models.CharField(_("note"), max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        # The table kept the name it had when the model lived in the enrollment app (on
        # PostgreSQL its append-only trigger is attached to it).
        db_table = "enrollment_auditentry"
        ordering = ["-at", "-pk"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_recent"),
            models.Index(fields=["trail", "at"], name="audit_trail"),
            models.Index(fields=["union", "at"], name="audit_union"),
            models.Index(fields=["actor", "at"], name="audit_actor"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_label}"
