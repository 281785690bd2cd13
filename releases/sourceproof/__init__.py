"""The source proof: each pre-release tarball compared, file by file, with the tag of the
project's git repository it is built from (bundlecheck.source), before the release opens."""
