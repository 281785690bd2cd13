from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("releases", "0004_worker_ping_and_assembly_claim"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="findings_omitted",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
