"""What every form the portal reads shares: its first problem, as the one
refusal the portal raises (`BadInput`, answered 400 by the error layer)."""

from __future__ import annotations

from collections.abc import Mapping

from django.forms import Form
from django.forms.utils import ErrorDict

from .errors import BadInput

NON_FIELD = "__all__"


def form_refusal(form: Form, *, names: Mapping[str, str] | None = None) -> BadInput:
    """`field: problem` for the form's first problem; `names` renames a field as the
    person knows it (the API's multipart field, a page's label)."""
    errors: ErrorDict = form.errors
    field, problems = next(iter(errors.items()))
    if field == NON_FIELD:
        return BadInput(problems[0])
    name = (names or {}).get(field, field)
    return BadInput(f"{name}: {problems[0]}", field=field)


def refusal_on_form(form: Form, error) -> None:
    """Show a service's refusal (`PortalError`) on the form it came from: beside the
    field it names when the form has that field, above the form otherwise."""
    form.add_error(error.field if error.field in form.fields else None, error.message)
