from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("releases", "0005_submission_findings_omitted"),
    ]

    operations = [
        migrations.AddField(
            model_name="release",
            name="withdrawn_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
