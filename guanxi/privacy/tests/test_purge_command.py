import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.core.models import ChangeRecord
from guanxi.customers import services
from guanxi.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_purge_command_removes_only_expired_trash(world, settings):
    admin = world.users["administrator"]
    fresh = services.customer_create(actor=admin, data={"name": "Fresh"})
    stale = services.customer_create(actor=admin, data={"name": "Stale"})
    services.customer_delete(actor=admin, customer=fresh)
    services.customer_delete(actor=admin, customer=stale)
    expired = timezone.now() - dt.timedelta(days=settings.GUANXI_TRASH_DAYS + 1)
    Customer.all_objects.filter(pk=stale.pk).update(deleted_at=expired)

    out = StringIO()
    call_command("purge_trash", stdout=out)

    assert "1 customers removed" in out.getvalue()
    assert Customer.all_objects.filter(pk=fresh.pk).exists()
    assert not Customer.all_objects.filter(pk=stale.pk).exists()
    assert not ChangeRecord.objects.filter(customer_id=stale.pk).exists()
