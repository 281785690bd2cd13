from django.contrib import admin

from .models import WorkerPing


@admin.register(WorkerPing)
class WorkerPingAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "answered_at", "worker", "round_trip_seconds")
    readonly_fields = ("created_at", "answered_at", "worker")
