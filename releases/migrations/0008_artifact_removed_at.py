from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("releases", "0007_packagelink_check_internal"),
    ]

    operations = [
        migrations.AddField(
            model_name="artifact",
            name="removed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
