"""The shell: log in, home counts, navigation by role, language switch, profile, trash."""

from __future__ import annotations

import pytest
from django.urls import reverse

from guanxi.accounts.models import User
from guanxi.core.models import ChangeRecord

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client, world):
    response = client.get(reverse("customer_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_log_in_and_out(client, world):
    login = client.get(reverse("login"))
    assert login.status_code == 200 and 'for="id_username"' in login.content.decode()
    response = client.post(reverse("login"), {"username": "sales_rep", "password": "pw-sales_rep"})
    assert response.url == reverse("home")
    assert client.post(reverse("logout")).url == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_home_counts_what_the_user_may_see(client, world):
    client.force_login(world.users["sales_rep"])
    response = client.get(reverse("home"))
    cards = {str(c["label"]): c["count"] for c in response.context["cards"]}
    assert cards["Customers"] == 1 and cards["Orders"] == 1 and cards["Interactions"] == 1
    assert cards["Products"] == 1


def test_the_menu_hides_what_the_role_cannot_use(client, world):
    client.force_login(world.users["sales_rep"])
    page = client.get(reverse("home")).content.decode()
    assert reverse("customer_list") in page and reverse("trash") in page
    assert reverse("admin:index") not in page
    client.force_login(world.users["marketer"])
    page = client.get(reverse("home")).content.decode()
    assert reverse("trash") not in page and reverse("customer_add") not in page
    admin = User.objects.create_superuser("boss", password="x", email="b@example.com")
    client.force_login(admin)
    assert reverse("admin:index") in client.get(reverse("home")).content.decode()


def test_switching_the_language_renders_chinese(client, world):
    client.force_login(world.users["sales_rep"])
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": reverse("password_change")}
    )
    assert response.url == reverse("password_change")
    page = client.get(reverse("password_change")).content.decode()
    assert '<html lang="zh-hans"' in page
    assert "旧密码" in page  # Django's own catalogue: "Old password"


def test_saving_the_language_in_the_profile(client, world):
    user = world.users["sales_rep"]
    client.force_login(user)
    assert client.get(reverse("profile")).status_code == 200
    response = client.post(reverse("profile"), {"language": "zh-hans"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "zh-hans"
    entry = ChangeRecord.objects.for_object(user).get()
    assert entry.changes == {"language": ["", "zh-hans"]}
    assert '<html lang="zh-hans"' in client.get(reverse("profile")).content.decode()
    bad = client.post(reverse("profile"), {"language": "xx"})
    assert bad.status_code == 200 and bad.context["form"].errors["language"]


def test_password_change(client, world):
    user = world.users["sales_rep"]
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": "pw-sales_rep", "new_password1": "a-Long-passphrase-9",
         "new_password2": "a-Long-passphrase-9"},
    )  # fmt: skip
    assert response.url == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password("a-Long-passphrase-9")


def test_every_list_page_answers_for_every_role(client, world):
    names = ("customer_list", "contact_list", "product_list", "order_list", "interaction_list")
    for role, user in world.users.items():
        client.force_login(user)
        for name in names:
            assert client.get(reverse(name)).status_code == 200, (role, name)
        assert client.get(reverse("trash")).status_code == 200, role


def test_the_vendored_assets_are_served_without_a_cdn(client, world):
    client.force_login(world.users["sales_rep"])
    page = client.get(reverse("home")).content.decode()
    for path in (
        "/static/vendor/tabler-1.6.1/tabler.min.css",
        "/static/vendor/tabler-1.6.1/tabler.min.js",
        "/static/vendor/htmx-2.0.11/htmx.min.js",
    ):
        assert path in page
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
    assert "https://" not in page.split("<body")[0]
