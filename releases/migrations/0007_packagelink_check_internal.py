from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("releases", "0006_release_withdrawn_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="packagelink",
            name="check_internal",
            field=models.TextField(blank=True),
        ),
    ]
