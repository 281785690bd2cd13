# The portal app keeps no models: Profile and ApiToken went to `accounts`,
# WorkerPing to `releases`. Their tables stay where they are, with their rows;
# only Django's state forgets them here, once the new homes have taken them.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0002_profile_confirmed_at"),
        ("accounts", "0001_initial"),
        ("releases", "0004_worker_ping_and_assembly_claim"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="ApiToken"),
                migrations.DeleteModel(name="Profile"),
                migrations.DeleteModel(name="WorkerPing"),
            ],
        ),
    ]
