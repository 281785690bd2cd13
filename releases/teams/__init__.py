"""A project's people: asking for a new project, its approval, and its team (members
and their roles). What each role may do is `releases.permissions.MAY`."""
