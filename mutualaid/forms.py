import datetime

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

# The days a date typed into a form may fall on. The portal's covers, claims and log entries all
# lie well inside them; a date beyond them (0001-01-01, 9999-12-31) would break the date
# arithmetic done with it (a year of cover from 9999-12-31 has no end).
FIRST_DAY = datetime.date(2000, 1, 1)
LAST_DAY = datetime.date(2099, 12, 31)


def day_in_range(day: datetime.date | None) -> datetime.date | None:
    """``day`` itself if it lies from FIRST_DAY to LAST_DAY (or is empty); else a message for the
    field. For a form's ``clean_<date field>``."""
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise forms.ValidationError(
            _("Enter a date from %(first)s to %(last)s.")
            % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()}
        )
    return day


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.add_input(Submit("submit", _("Log in"), css_class="w-100"))
        self.fields["username"].widget.attrs.update({"autofocus": True, "autocomplete": "username"})
