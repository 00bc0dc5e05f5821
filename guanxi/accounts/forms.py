"""Forms of the account pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ProfileForm(forms.Form):
    """The settings a user keeps with the account (for now, the language)."""

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("Leave on “browser” to follow the browser's language."),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Each language is named in itself, so a user who cannot read the current one finds it.
        local_names = {"en": "English", "zh-hans": "简体中文"}
        self.fields["language"].choices = [  # type: ignore[attr-defined]
            ("", _("Browser")),
            *[(code, local_names.get(code, str(name))) for code, name in settings.LANGUAGES],
        ]
