"""Import through the web UI and the API: upload, preview, dry run, run, report, errors CSV."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from guanxi.customers.models import Customer
from guanxi.dataio.models import ImportMapping, ImportRun

CSV = "客户编号,客户名称,城市,邮箱\nW-1,网页导入公司,杭州,w1@example.com\nW-2,,杭州,not-an-email\n".encode()


def test_upload_preview_dry_run_and_run_in_the_browser(client, world):
    # given an administrator on the import page
    client.force_login(world.users["administrator"])
    assert client.get("/data/import/").status_code == 200

    # when uploading, the preview shows the encoding and the proposed mapping
    response = client.post(
        "/data/import/", {"kind": "customers", "file": SimpleUploadedFile("c.csv", CSV)}
    )
    assert response.status_code == 302
    preview_url = response["Location"]
    page = client.get(preview_url).content.decode()
    assert "utf-8" in page and "网页导入公司" in page
    assert re.search(r'<option value="external_id" selected>', page)

    # then a dry run writes nothing, a run imports and reports the bad row by column
    form = {
        "kind": "customers",
        "map-0": "external_id",
        "map-1": "name",
        "map-2": "city",
        "map-3": "email",
    }
    response = client.post(preview_url, {**form, "action": "dry_run"})
    assert response.status_code == 302 and not Customer.objects.filter(external_id="W-1").exists()
    response = client.post(preview_url, {**form, "action": "save", "save_name": "crm export"})
    assert ImportMapping.objects.filter(
        name="crm export", user=world.users["administrator"]
    ).exists()
    response = client.post(preview_url, {**form, "action": "run"})
    run = ImportRun.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert (run.created, run.rejected) == (1, 1)
    report = client.get(response["Location"]).content.decode()
    assert "2 rows read = 1 created + 0 updated + 0 unchanged + 1 rejected" in report
    errors = client.get(f"/data/import/runs/{run.pk}/errors.csv").content.decode("utf-8-sig")
    assert "3,客户名称,,A new customer needs a name." in errors


def test_other_users_runs_are_not_found(client, world):
    run = ImportRun.objects.create(
        user=world.users["administrator"], kind="orders", file_name="x.csv"
    )
    client.force_login(world.users["sales_rep"])
    assert client.get(f"/data/import/runs/{run.pk}/").status_code == 404
    client.force_login(world.users["analyst"])
    response = client.post(
        "/data/import/", {"kind": "customers", "file": SimpleUploadedFile("c.csv", CSV)}
    )
    assert response.status_code == 403


def test_api_imports_a_file_and_lists_runs(world):
    api = APIClient()
    api.force_authenticate(world.users["sales_manager"])
    response = api.post(
        "/api/imports/",
        {"kind": "customers", "file": SimpleUploadedFile("c.csv", CSV), "dry_run": "true"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert (response.data["dry_run"], response.data["created"], response.data["rejected"]) == (
        True,
        1,
        1,
    )
    assert response.data["row_errors"][0]["row"] == 3
    listed = api.get("/api/imports/")
    assert listed.status_code == 200 and listed.data["count"] == 1
    other = APIClient()
    other.force_authenticate(world.users["sales_rep"])
    assert other.get(f"/api/imports/{response.data['id']}/").status_code == 404
    refused = other.post(
        "/api/imports/",
        {"kind": "products", "file": SimpleUploadedFile("p.csv", b"sku\nA\n")},
        format="multipart",
    )
    assert refused.status_code == 403
