"""ID and bank numbers encrypted at rest, found by a keyed digest (mutualaid/crypto.py)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import importlib
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.urls import reverse

from claims.models import Claim, Payout
from enrollment.selectors import held_shares
from enrollment.services import member_upsert
from mutualaid import crypto
from organisation.models import Member
from plans.engine.roster import RosterRow
from tests import factories

CARD = "6222021234567890128"


def new_key(fill: int) -> str:
    return base64.urlsafe_b64encode(bytes([fill]) * 32).decode()


OLD_KEY, NEW_KEY, OTHER_LOOKUP = new_key(1), new_key(2), new_key(3)


def raw_row(table: str, pk: int, *columns: str) -> tuple:
    """The stored values, read past the ORM (and so past decryption)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)} "  # noqa: S608
            "WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def raw_member(member: Member) -> tuple[str, str, str]:
    return raw_row(Member._meta.db_table, member.pk, "id_number", "bank_card", "id_number_digest")


def assert_no_clear_text(stored: tuple, *clear: str) -> None:
    for value in stored:
        for secret in clear:
            if secret:
                assert secret not in (value or "")
                assert secret[4:14] not in (value or "")


# --- the cipher ---------------------------------------------------------------------------------


def test_round_trip_and_format():
    stored = crypto.encrypt("22010219850615001X")
    version, kid, body = stored.split(":")
    assert version == "e1" and len(kid) == 8
    assert base64.urlsafe_b64decode(body)  # nonce + ciphertext + tag
    assert crypto.decrypt(stored) == "22010219850615001X"
    assert crypto.decrypt(crypto.encrypt("张三 · 6222")) == "张三 · 6222"


def test_each_encryption_uses_a_fresh_nonce():
    assert crypto.encrypt(CARD) != crypto.encrypt(CARD)


def test_empty_stays_empty():
    assert crypto.encrypt("") == ""
    assert crypto.decrypt("") == ""


def test_tampering_is_detected():
    stored = crypto.encrypt(CARD)
    head, body = stored.rsplit(":", 1)
    blob = bytearray(base64.urlsafe_b64decode(body))
    blob[-1] ^= 1
    with pytest.raises(crypto.DecryptionError, match="failed authentication"):
        crypto.decrypt(head + ":" + base64.urlsafe_b64encode(bytes(blob)).decode())
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored[:-6])


def test_clear_text_is_refused_not_passed_through_and_never_echoed():
    for clear in (CARD, "22010219850615001X", "e1:nonsense"):
        with pytest.raises(crypto.DecryptionError) as refused:
            crypto.decrypt(clear)
        assert clear not in str(refused.value)


def test_unknown_key_id_is_refused():
    with override_settings(PERSONAL_DATA_KEYS=[OLD_KEY]):
        stored = crypto.encrypt(CARD)
    with (
        override_settings(PERSONAL_DATA_KEYS=[NEW_KEY]),
        pytest.raises(crypto.DecryptionError, match="not among PERSONAL_DATA_KEYS"),
    ):
        crypto.decrypt(stored)


def test_rotation_first_key_encrypts_all_keys_decrypt():
    with override_settings(PERSONAL_DATA_KEYS=[OLD_KEY]):
        old = crypto.encrypt(CARD)
    with override_settings(PERSONAL_DATA_KEYS=[NEW_KEY, OLD_KEY]):
        assert crypto.decrypt(old) == CARD
        new = crypto.encrypt(CARD)
        assert new.split(":")[1] == crypto.key_id(base64.urlsafe_b64decode(NEW_KEY))
        assert new.split(":")[1] != old.split(":")[1]
        assert not crypto.is_current(old) and crypto.is_current(new)


def test_bad_keys_are_refused():
    from django.core.exceptions import ImproperlyConfigured

    with (
        override_settings(PERSONAL_DATA_KEYS=["too-short"]),
        pytest.raises(ImproperlyConfigured, match="32 random bytes"),
    ):
        crypto.encrypt(CARD)
    with (
        override_settings(PERSONAL_DATA_KEYS=[OLD_KEY], PERSONAL_DATA_LOOKUP_KEY=OLD_KEY),
        pytest.raises(ImproperlyConfigured, match="must not be one of"),
    ):
        crypto.encrypt(CARD)


def test_derived_keys_are_distinct_and_stable():
    key, lookup = crypto.derive_keys("some secret")
    assert key != lookup
    assert (key, lookup) == crypto.derive_keys("some secret")
    assert crypto.derive_keys("another secret")[0] != key
    assert len(base64.urlsafe_b64decode(key)) == 32


# --- the lookup digest --------------------------------------------------------------------------


def test_digest_is_a_stable_keyed_hmac_of_the_normalised_value(settings):
    number = "22010219850615001X"
    key = base64.urlsafe_b64decode(settings.PERSONAL_DATA_LOOKUP_KEY)
    expected = hmac.new(key, b"id_number\x00" + number.encode(), hashlib.sha256).hexdigest()
    assert crypto.digest(number) == expected
    # What a clerk might type for the same number: lower-case x, full-width digits, spaces.
    full_width = " " + number.lower().translate({ord(str(d)): chr(0xFF10 + d) for d in range(10)})
    assert crypto.digest(full_width) == expected
    assert crypto.digest(number, "bank_card") != expected
    assert crypto.digest("") == ""


def test_digest_differs_with_another_lookup_key():
    number = "22010219850615001X"
    before = crypto.digest(number)
    with override_settings(PERSONAL_DATA_LOOKUP_KEY=OTHER_LOOKUP):
        assert crypto.digest(number) != before


# --- the database holds no clear numbers --------------------------------------------------------


def test_members_written_by_the_service_are_encrypted(world):
    number = factories.make_id_number()
    member = member_upsert(
        id_number=number,
        name="赵六",
        union=world.unit_a,
        employment_type="正式职工",
        bank_card=CARD,
    )
    stored = raw_member(member)
    assert stored[0].startswith("e1:") and stored[1].startswith("e1:")
    assert stored[2] == crypto.digest(number)
    assert_no_clear_text(stored, number, CARD)
    member.refresh_from_db()
    assert (member.id_number, member.bank_card) == (number, CARD)
    # The same number again (typed in lower case) is the same person, updated, not a second row.
    again = member_upsert(
        id_number=number.lower(), name="赵六", union=world.unit_b, employment_type="正式职工"
    )
    assert again.pk == member.pk
    assert Member.objects.filter(id_number_digest=crypto.digest(number)).count() == 1


def test_factory_and_bulk_create_members_get_ciphertext_and_digests(world):
    assert raw_member(world.member_a)[2] == crypto.digest(world.member_a.id_number)
    numbers = [factories.make_id_number() for _ in range(3)]
    Member.objects.bulk_create(
        Member(
            id_number=n,
            name=f"批量{i}",
            birth_date=datetime.date(1985, 6, 15),
            gender="M",
            employment_type="正式职工",
            union=world.unit_a,
            bank_card=CARD,
        )
        for i, n in enumerate(numbers)
    )
    for number in numbers:
        member = Member.objects.get(id_number_digest=crypto.digest(number))
        assert member.id_number == number
        # Whole digests: PostgreSQL's bulk insert casts to the column type without its length.
        assert raw_member(member)[2] == crypto.digest(number)
        assert_no_clear_text(raw_member(member), number, CARD)


def _roster_rows(numbers: list[str]) -> list[RosterRow]:
    return [
        RosterRow(
            row=i + 2,
            name=f"名单{i}",
            id_number=n,
            birth_date=datetime.date(1985, 6, 15),
            gender="M",
            phone="13912345678",
            employment_type="正式职工",
            occupation="",
            medical_insurance=True,
            shares=1,
            high_risk=False,
            bank_card=CARD,
            note="",
            fee=Decimal("110.00"),
            ok=True,
        )
        for i, n in enumerate(numbers)
    ]


def test_roster_import_writes_ciphertext_and_matches_known_people_by_digest(world):
    from enrollment.rosters import _import_rows

    roster = factories.RosterFactory(
        union=world.unit_a, created_by=world.clerk_a, status="submitting"
    )
    known = world.member_a.id_number
    numbers = [known, factories.make_id_number(), factories.make_id_number()]
    before = Member.objects.count()
    with transaction.atomic():
        _import_rows(roster, _roster_rows(numbers))
    assert Member.objects.count() == before + 2
    assert roster.enrollments.count() == 3
    for number in numbers:
        member = Member.objects.get(id_number_digest=crypto.digest(number))
        assert member.id_number == number and member.bank_card == CARD
        assert_no_clear_text(raw_member(member), number, CARD)
    world.member_a.refresh_from_db()
    assert world.member_a.name == "名单0"
    held = held_shares(
        plan_id=roster.plan_version.plan_id,
        coverage_start=roster.coverage_start,
        id_numbers=numbers,
    )
    assert held == dict.fromkeys(numbers, 1)


def test_held_shares_answers_in_the_numbers_the_caller_gave(world):
    version = factories.catalog_version("linyi-accident-2019")  # up to 4 shares a person
    factories.enroll(world.member_a, version, shares=2)
    number = world.member_a.id_number
    stranger = factories.make_id_number()
    held = held_shares(
        plan_id=version.plan_id,
        coverage_start=datetime.date(2026, 1, 1),
        id_numbers=[number, stranger],
    )
    assert held == {number: 2}


def test_claims_and_payouts_store_the_account_encrypted(world):
    enrollment = factories.enroll(world.member_a)
    claim = factories.ClaimFactory(enrollment=enrollment, payee_account=CARD)
    payout = Payout.objects.create(
        claim=claim,
        kind=Payout.Kind.PRIMARY,
        amount=Decimal("500.00"),
        payee_name="甲职工",
        payee_account=CARD,
        granted_by=world.office_staff,
    )
    for model, pk in ((Claim, claim.pk), (Payout, payout.pk)):
        (stored,) = raw_row(model._meta.db_table, pk, "payee_account")
        assert stored.startswith("e1:")
        assert_no_clear_text((stored,), CARD)
        assert model.objects.get(pk=pk).payee_account == CARD


# --- searching ----------------------------------------------------------------------------------


def test_encrypted_fields_refuse_lookups_that_cannot_work(world):
    number = world.member_a.id_number
    with pytest.raises(FieldError, match="id_number_digest"):
        Member.objects.filter(id_number=number).exists()
    with pytest.raises(FieldError, match="encrypted"):
        Member.objects.filter(id_number__in=[number]).exists()
    with pytest.raises(FieldError, match="encrypted"):
        Member.objects.filter(bank_card__startswith="6222").exists()
    with pytest.raises(FieldError, match="encrypted"):
        Claim.objects.filter(payee_account=CARD).exists()
    with pytest.raises(FieldError, match="encrypted"):
        Member.objects.filter(enrollments__isnull=True, id_number__iexact=number).exists()
    assert Member.objects.filter(id_number__isnull=False).count() == Member.objects.count()


def test_member_search_finds_an_id_number_by_its_digest(client, world):
    client.force_login(world.office_staff)
    url = reverse("enrollment:member_list")
    page = client.post(url, {"q": world.member_a.id_number.lower()}, follow=True).content.decode()
    assert "甲职工" in page and "乙职工" not in page
    page = client.get(url, {"q": "乙职"}).content.decode()
    assert "乙职工" in page and "甲职工" not in page


def test_admin_search_box_sends_an_id_number_to_the_portal_search(client, world):
    world.office_staff.is_staff = True
    world.office_staff.is_superuser = True
    world.office_staff.save()
    client.force_login(world.office_staff)
    url = reverse("admin:organisation_member_changelist")
    # An ID number is never searched through a GET address: the admin sends it to the portal's
    # member search, which takes it by POST.
    response = client.get(url, {"q": world.member_b.id_number})
    assert response.status_code == 302
    assert response["Location"] == reverse("enrollment:member_list")
    assert world.member_b.id_number not in response["Location"]
    page = client.get(url).content.decode()
    assert world.member_b.id_number_masked in page  # the list shows the masked form
    page = client.get(url, {"q": "甲职"}).content.decode()
    assert "甲职工" in page and "乙职工" not in page


# --- key rotation -------------------------------------------------------------------------------


def test_reencrypt_command_moves_every_value_to_the_first_key(world, settings):
    test_keys = list(settings.PERSONAL_DATA_KEYS)  # the world's rows are under these
    with override_settings(PERSONAL_DATA_KEYS=[OLD_KEY]):
        member = member_upsert(
            id_number=factories.make_id_number(),
            name="旧钥匙",
            union=world.unit_a,
            employment_type="正式职工",
            bank_card=CARD,
        )
        claim = factories.ClaimFactory(enrollment=factories.enroll(member))
    old_id = crypto.key_id(base64.urlsafe_b64decode(OLD_KEY))
    new_id = crypto.key_id(base64.urlsafe_b64decode(NEW_KEY))
    assert raw_member(member)[0].split(":")[1] == old_id

    with override_settings(PERSONAL_DATA_KEYS=[NEW_KEY, OLD_KEY, *test_keys]):
        # Readable with the old key second; then rewritten under the new one.
        assert Member.objects.get(pk=member.pk).bank_card == CARD
        out = io.StringIO()
        call_command("reencrypt_personal_data", "--chunk", "2", stdout=out)
        assert "organisation.Member:" in out.getvalue() and "claims.Claim:" in out.getvalue()
        stored = raw_member(member)
        assert stored[0].split(":")[1] == new_id and stored[1].split(":")[1] == new_id
        (account,) = raw_row(Claim._meta.db_table, claim.pk, "payee_account")
        assert account.split(":")[1] == new_id
        # A second run finds nothing to do.
        again = io.StringIO()
        call_command("reencrypt_personal_data", stdout=again)
        lines = again.getvalue().splitlines()
        assert lines and all(" 0 rewritten" in line for line in lines)

    with override_settings(PERSONAL_DATA_KEYS=[NEW_KEY]):
        fresh = Member.objects.get(pk=member.pk)
        assert (fresh.id_number, fresh.bank_card) == (member.id_number, CARD)
        assert Claim.objects.get(pk=claim.pk).payee_account == claim.payee_account


def test_reencrypt_command_recomputes_digests_for_a_new_lookup_key(world):
    number = world.member_a.id_number
    with override_settings(PERSONAL_DATA_LOOKUP_KEY=OTHER_LOOKUP):
        assert not Member.objects.filter(id_number_digest=crypto.digest(number)).exists()
        out = io.StringIO()
        call_command("reencrypt_personal_data", stdout=out)
        assert Member.objects.get(id_number_digest=crypto.digest(number)) == world.member_a
    assert "digests recomputed" in out.getvalue()


# --- the migrations -----------------------------------------------------------------------------


def _migration(app: str, name: str):
    return importlib.import_module(f"{app}.migrations.{name}")


def _apps_at(app: str, name: str):
    """The models as that migration saw them (Member was enrollment's then)."""
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(connection).project_state((app, name)).apps


def _write_raw(table: str, pk: int, **values) -> None:
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(c)} = %s" for c in values)
    with connection.cursor() as cursor:
        sql = f"UPDATE {quote(table)} SET {sets} WHERE id = %s"  # noqa: S608
        cursor.execute(sql, [*values.values(), pk])


def test_member_migration_encrypts_rows_written_in_clear(world):
    """The RunPython step on a row as the previous schema held it, and on one already done."""
    step = _migration("enrollment", "0005_personal_data_encrypted")
    editor = SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    member = world.member_a
    number = member.id_number
    _write_raw(
        Member._meta.db_table, member.pk, id_number=number, bank_card=CARD, id_number_digest="-"
    )
    done_before = raw_member(world.member_b)

    step.encrypt_members(_apps_at("enrollment", "0005_personal_data_encrypted"), editor)

    stored = raw_member(member)
    assert stored[0].startswith("e1:") and stored[1].startswith("e1:")
    assert stored[2] == crypto.digest(number)
    assert_no_clear_text(stored, number, CARD)
    member.refresh_from_db()
    assert (member.id_number, member.bank_card) == (number, CARD)
    # Already encrypted rows are left as they were: running the step again is harmless.
    assert raw_member(world.member_b) == done_before


def test_claims_migration_encrypts_and_decrypts_accounts(world):
    step = _migration("claims", "0006_personal_data_encrypted")
    editor = SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    claim = factories.ClaimFactory(enrollment=factories.enroll(world.member_a))
    _write_raw(Claim._meta.db_table, claim.pk, payee_account=CARD)

    step.encrypt_accounts(apps, editor)
    (stored,) = raw_row(Claim._meta.db_table, claim.pk, "payee_account")
    assert stored.startswith("e1:") and Claim.objects.get(pk=claim.pk).payee_account == CARD

    step.decrypt_accounts(apps, editor)
    assert raw_row(Claim._meta.db_table, claim.pk, "payee_account") == (CARD,)
    step.encrypt_accounts(apps, editor)


@pytest.mark.django_db(transaction=True)
def test_member_migration_forwards_and_back_on_the_real_schema():
    """Migrate back before the change, write a member in clear, migrate forward and back."""
    before = [("enrollment", "0004_audit_log")]
    after = [("enrollment", "0005_personal_data_encrypted")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        old_apps = MigrationExecutor(connection).loader.project_state(before).apps
        union = old_apps.get_model("enrollment", "Union").objects.create(
            code="MIG", name="迁移", level="office", path="999999/", depth=0
        )
        number = factories.make_id_number()
        member = old_apps.get_model("enrollment", "Member").objects.create(
            id_number=number,
            name="迁移前",
            birth_date=datetime.date(1985, 6, 15),
            gender="M",
            bank_card=CARD,
            employment_type="正式职工",
            union_id=union.pk,
        )
        assert raw_row(Member._meta.db_table, member.pk, "id_number") == (number,)

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        stored = raw_row(
            Member._meta.db_table, member.pk, "id_number", "bank_card", "id_number_digest"
        )
        assert stored[0].startswith("e1:") and stored[1].startswith("e1:")
        assert stored[2] == crypto.digest(number)
        assert_no_clear_text(stored, number, CARD)

        executor = MigrationExecutor(connection)
        executor.migrate(before)
        assert raw_row(Member._meta.db_table, member.pk, "id_number", "bank_card") == (
            number,
            CARD,
        )
    finally:
        MigrationExecutor(connection).migrate(latest)
