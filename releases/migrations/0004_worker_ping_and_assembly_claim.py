# - WorkerPing moves here from the `portal` app; its table (portal_workerping)
#   and rows stay, only Django's state changes.
# - The assembly claim gets its own column: `published_at` is the publication
#   time only. A release caught publishing keeps its claim.
# - Submission.kind was never written; it goes.

from django.db import migrations, models


def claims_to_their_column(apps, schema_editor):
    Release = apps.get_model("releases", "Release")
    for release in Release.objects.filter(state="publishing", published_at__isnull=False):
        release.assembly_claimed_at, release.published_at = release.published_at, None
        release.save(update_fields=["assembly_claimed_at", "published_at"])


def claims_back_to_published_at(apps, schema_editor):
    Release = apps.get_model("releases", "Release")
    for release in Release.objects.filter(state="publishing", assembly_claimed_at__isnull=False):
        release.published_at = release.assembly_claimed_at
        release.save(update_fields=["published_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0002_profile_confirmed_at"),
        ("releases", "0003_page_stale_since"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="WorkerPing",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("answered_at", models.DateTimeField(blank=True, null=True)),
                        ("worker", models.CharField(blank=True, max_length=255)),
                    ],
                    options={"db_table": "portal_workerping", "ordering": ["-created_at"]},
                ),
            ],
        ),
        migrations.AddField(
            model_name="release",
            name="assembly_claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(claims_to_their_column, claims_back_to_published_at),
        migrations.RemoveField(model_name="submission", name="kind"),
    ]
