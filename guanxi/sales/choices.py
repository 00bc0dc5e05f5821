from django.db import models
from django.utils.translation import gettext_lazy as _


class SalesChannel(models.TextChoices):
    DIRECT = "direct", _("Direct sales")
    STORE = "store", _("Store")
    ONLINE = "online", _("Online shop")
    PHONE = "phone", _("Phone order")
    DISTRIBUTOR = "distributor", _("Distributor")
    MARKETPLACE = "marketplace", _("Marketplace")


class OrderKind(models.TextChoices):
    SALE = "sale", _("Sale")
    REVERSAL = "reversal", _("Reversal")
