"""After publishing: what each distro's branches actually ship, read from their own indexes."""
