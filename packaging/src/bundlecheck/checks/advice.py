"""Advice the guide gives without demanding it."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding
from ..registry import check
from ..view import SourceView


@check("image-store-missing")
def image_store(view: SourceView) -> Iterator[Finding]:
    store = view.policy.image_store
    if not store or view.shape == "bundle":  # a bundle cannot carry image_store/ anyway
        return
    distro = view.distro.lower()
    if any(p.startswith(store) and distro in p[len(store):].lower() for p in view.members):
        return
    yield view.finding(
        "image-store-missing", store,
        f"no provisionable image for {view.distro} under {store}",
        f"Recommended, not required: add {store}{distro}_vm/ with its provision.sh, modelled on "
        f"the images already under {store} (see the guide's Advice).",
    )
