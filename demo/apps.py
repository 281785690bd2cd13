from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: sample upstreams, distros, people and releases for a first run
    (`python manage.py seed_demo`), and the archives the tests build from them.

    It sits above every other app and nothing imports it but the tests."""

    name = "demo"
    verbose_name = "Demo"
