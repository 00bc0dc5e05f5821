"""Import API: POST /api/imports/ (multipart file + kind + options) and the runs."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ..importing import ImportRefused, run_import
from ..importing.selectors import import_kinds, import_run_get, import_run_list
from ..models import ImportKind, ImportRowError, ImportRun

#: Largest file imported within an API request; larger: the CLI.
API_MAX_BYTES = 20 * 1024 * 1024


class ImportRowErrorSerializer(serializers.ModelSerializer):
    """One rejected row's reason."""

    class Meta:
        model = ImportRowError
        fields = ["row", "column", "value", "message"]


class ImportRunSerializer(serializers.ModelSerializer):
    """A run with its accounting (``rows_read = created + updated + unchanged + rejected``)."""

    user = serializers.CharField(source="user.username", read_only=True, default="")

    class Meta:
        model = ImportRun
        fields = [
            "id", "user", "kind", "file_name", "file_sha256", "file_size", "encoding",
            "mapping", "options", "dry_run", "status", "message", "rows_read", "created",
            "updated", "unchanged", "rejected", "first_row", "last_row", "started_at",
            "finished_at",
        ]  # fmt: skip


class ImportRunDetailSerializer(ImportRunSerializer):
    """A run with its first 1,000 row errors."""

    row_errors = serializers.SerializerMethodField()

    class Meta(ImportRunSerializer.Meta):
        fields = [*ImportRunSerializer.Meta.fields, "row_errors"]

    def get_row_errors(self, run: ImportRun) -> list[dict[str, Any]]:
        return list(ImportRowErrorSerializer(run.errors.all()[:1000], many=True).data)


class ImportCreateSerializer(serializers.Serializer):
    """The upload: a CSV or XLSX file, its kind and the options of ``guanxi import``."""

    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    encoding = serializers.CharField(required=False, allow_blank=True)
    mapping = serializers.CharField(required=False, allow_blank=True)
    map = serializers.CharField(
        required=False, allow_blank=True, help_text='JSON object {"Header": "field"}.'
    )
    dry_run = serializers.BooleanField(required=False, default=False)
    all_or_nothing = serializers.BooleanField(required=False, default=False)


class ImportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Import runs the user may read; POST imports a file within the request."""

    serializer_class = ImportRunSerializer
    # Any role that reads customers may list its own runs; an upload is then checked
    # against the role's ``add`` permission for the kind of file (403 otherwise).
    permission_object_type = "customer"
    action_permissions = {"list": "view", "retrieve": "view", "create": "view"}

    def get_queryset(self) -> Any:
        return import_run_list(user=self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action == "retrieve":
            return ImportRunDetailSerializer
        if self.action == "create":
            return ImportCreateSerializer
        return ImportRunSerializer

    def get_object(self) -> ImportRun:
        try:
            return import_run_get(user=self.request.user, pk=self.kwargs["pk"])
        except (ImportRun.DoesNotExist, ValueError) as exc:
            raise Http404 from exc

    def create(self, request: Request) -> Response:
        """Import the uploaded file; 201 with the run (its errors included)."""
        form = ImportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if data["kind"] not in import_kinds(user=request.user):
            raise PermissionDenied(_("Your role may not import this kind of record."))
        upload = data["file"]
        if upload.size > API_MAX_BYTES:
            raise APIValidationError(
                {"file": [_("The file is too large for the API; use guanxi import.")]}
            )
        try:
            overrides = json.loads(data.get("map") or "{}")
            if not isinstance(overrides, dict):
                raise ValueError
        except ValueError as exc:
            raise APIValidationError({"map": [_("Give a JSON object.")]}) from exc
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(upload.name or "upload").name
            with path.open("wb") as target:
                for chunk in upload.chunks():
                    target.write(chunk)
            try:
                run = run_import(
                    path, data["kind"], actor=request.user,
                    encoding=data.get("encoding") or None,
                    mapping_name=data.get("mapping") or None,
                    overrides={str(k): str(v) for k, v in overrides.items()},
                    dry_run=data["dry_run"], all_or_nothing=data["all_or_nothing"],
                )  # fmt: skip
            except ImportRefused as exc:
                raise APIValidationError({"file": [str(exc)]}) from exc
        return Response(ImportRunDetailSerializer(run).data, status=status.HTTP_201_CREATED)
