"""Writes to users' own settings; each leaves a change-log entry."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.core.changelog import record_change
from guanxi.core.models import ChangeAction
from guanxi.core.permissions import Role, role_of

from .models import User


def user_set_language(*, actor: Any, user: User, language: str) -> User:
    """Save the language the user works in (``""`` follows the browser).

    Users change their own language; administrators may change anyone's.
    """
    if actor.pk != user.pk and role_of(actor) != Role.ADMINISTRATOR:
        raise PermissionDenied(_("You may only change your own language."))
    codes = {code for code, _name in settings.LANGUAGES}
    if language and language not in codes:
        raise ValidationError({"language": _("Unknown language %(code)s.") % {"code": language}})
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = {"language": locked.language}
        locked.language = language
        locked.save(update_fields=["language"])
        record_change(
            actor=actor,
            action=ChangeAction.UPDATE,
            obj=locked,
            before=before,
            after={"language": language},
        )
    user.language = language
    return locked
