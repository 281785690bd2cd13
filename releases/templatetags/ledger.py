"""`{% your_patches submission %}`: the patch ledger's section of a maintainer's report.

A template tag, so the report (releases.submissions) shows the ledger's rows
without importing the ledger's part.
"""

from django import template

from releases.ledger.selectors import distro_patches

register = template.Library()


@register.inclusion_tag("releases/_your_patches.html")
def your_patches(submission):
    release = submission.release
    return {
        "release": release,
        "project": release.project,
        "distro": submission.distro,
        "patches": distro_patches(release, submission.distro),
    }
