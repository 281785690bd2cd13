"""The patch ledger: the patches each distro carries for a release, merged into one entry
per fix, with their status against the pre-release (bundlecheck.patches) and upstream's
answer to each."""
