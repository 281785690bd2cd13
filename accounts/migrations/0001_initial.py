# Profile and ApiToken lived in the `portal` app until the accounts app was
# split out of it. Their tables keep their names (portal_profile,
# portal_apitoken) and their rows: this migration only tells Django's state
# that the models now belong here. On a new database the tables are made by
# portal's own migrations, which this one depends on.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("portal", "0002_profile_confirmed_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="ApiToken",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(help_text="What uses it, e.g. “ubuntu CI”.", max_length=100)),
                        ("key_hash", models.CharField(max_length=64, unique=True)),
                        ("key_start", models.CharField(max_length=12)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="api_tokens", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "portal_apitoken", "ordering": ["-created_at"]},
                ),
                migrations.CreateModel(
                    name="Profile",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("display_name", models.CharField(blank=True, help_text="Shown on the public download page, e.g. “Packaged for Ubuntu by …”.", max_length=100)),
                        ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                        ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="profile", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "portal_profile"},
                ),
            ],
        ),
    ]
