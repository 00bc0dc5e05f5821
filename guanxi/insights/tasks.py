"""Background tasks of the insights app (django-tasks; the database backend by default).

``guanxi worker`` runs them; ``guanxi worker --schedule`` also enqueues the nightly refresh.
"""

from __future__ import annotations

from django_tasks import task


@task()
def refresh_insights(run_id: int) -> str:
    """Run the queued refresh ``run_id``; returns its final status."""
    from .models import RefreshRun
    from .services import insight_refresh_run

    run = RefreshRun.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    return str(insight_refresh_run(run=run).status)
