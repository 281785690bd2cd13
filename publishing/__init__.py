"""What the public sees: the assembled source tarball, the download page, its
JSON twin and feed, and the health of the package links they point to."""
