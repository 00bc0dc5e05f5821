"""The customer filters of the UI, annotated for the OpenAPI schema."""

from __future__ import annotations

import copy

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from guanxi.customers import filtersets


class CustomerFilterSet(filtersets.CustomerFilterSet):
    """Same filters as the UI; the tag filter (by name, repeatable) typed as a string.

    drf-spectacular cannot follow ``tags__name`` plus ``to_field_name`` to the model field.
    """

    tag = extend_schema_field(OpenApiTypes.STR)(
        copy.deepcopy(filtersets.CustomerFilterSet.base_filters["tag"])
    )
