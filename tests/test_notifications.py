"""E-mail from the outbox, delivered to a real (local) SMTP server; the admin listing."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from conftest import ADMIN, MODELS, START, Mailbox, free_port

from engine import SYSTEM, Engine, queries
from engine.db import Database
from engine.delivery import SmtpConfigurationError, check_configuration, claim_due, smtp_server

SENDER = "biflow@bi.brussels"
USERS = {  # name: (groups, e-mail)
    "ana": (["licensing-unit"], "ana@bi.brussels"),
    "ben": (["licensing-unit"], None),
    "cas": (["licensing-unit", "protocol"], "Cas Peeters <cas@bi.brussels>"),
    "dirk": (["protocol"], "dirk@bi.brussels"),
}


@pytest.fixture
def make_engine(database_url, clock):
    """Engines on the test database and clock, with the SMTP URL given; closed after."""
    made: list[Engine] = []

    def make(smtp_url: str | None) -> Engine:
        engine = Engine(Database(database_url), clock=clock, job_backoff_seconds=10,
                        smtp_url=smtp_url, smtp_sender=SENDER)
        made.append(engine)
        if not engine.read(queries.definition_versions, "notify_group"):
            engine.deploy_paths([MODELS / "notify_group.bpmn"])
            for name, (groups, email) in USERS.items():
                engine.add_user(name, groups, email=email)
        return engine

    yield make
    for engine in made:
        engine.close()


def notify(engine: Engine, recipient: str, business_key: str = "LIC-7"):
    """Start an instance whose one service task notifies ``recipient``; run that job."""
    instance = engine.start("notify_group", actor=ADMIN, business_key=business_key,
                            data={"applicant": "Thermocam SA", "recipient": recipient})
    assert engine.run_jobs() == 1
    [row] = engine.read(queries.outbox, instance.id)
    return row


def outbox_row(engine: Engine, row_id: int):
    [row] = [r for r in engine.read(queries.outbox) if r.id == row_id]
    return row


class TestDelivery:
    def test_an_email_to_an_address_arrives_filled_in(self, make_engine, smtp):
        url, mailbox = smtp
        engine = make_engine(url)
        row = notify(engine, "applicant@thermocam.be")
        assert (row.status, row.sent_at) == ("pending", None)
        assert engine.deliver_notifications() == 1
        assert mailbox.received.wait(5)
        [envelope] = mailbox.envelopes
        assert (envelope.mail_from, envelope.rcpt_tos) == (SENDER, ["applicant@thermocam.be"])
        [mail] = mailbox.messages()
        assert mail["Subject"] == "Licence LIC-7 for Thermocam SA"
        assert mail.get_content().strip() == "The licence of Thermocam SA is granted."
        assert (mail["From"], mail["To"]) == (SENDER, "applicant@thermocam.be")
        assert mail["Date"] == format_datetime(START)
        assert mail["Message-ID"].endswith("@bi.brussels>")
        assert (mail["X-Biflow-Instance"], mail["X-Biflow-Outbox-Id"]) == (
            row.instance_id, str(row.id))
        row = outbox_row(engine, row.id)
        assert (row.status, row.sent_at, row.attempts, row.locked_by) == ("sent", START, 0, None)
        assert engine.deliver_notifications() == 0
        assert len(mailbox.envelopes) == 1

    def test_a_group_reaches_its_members_with_an_address_and_nobody_else(self, make_engine,
                                                                          smtp):
        url, mailbox = smtp
        engine = make_engine(url)
        notify(engine, "group:licensing-unit, ana@bi.brussels")
        assert engine.deliver_notifications() == 1
        [envelope] = mailbox.envelopes
        assert envelope.rcpt_tos == ["ana@bi.brussels", "cas@bi.brussels"]  # once each

    def test_a_comma_separated_list(self, make_engine, smtp):
        url, mailbox = smtp
        engine = make_engine(url)
        notify(engine, "a@thermocam.be, Legal <legal@thermocam.be>")
        assert engine.deliver_notifications() == 1
        assert mailbox.envelopes[0].rcpt_tos == ["a@thermocam.be", "legal@thermocam.be"]

    def test_without_smtp_the_message_is_only_recorded(self, make_engine, smtp):
        _, mailbox = smtp
        engine = make_engine(None)
        row = notify(engine, "applicant@thermocam.be")
        assert engine.deliver_notifications() == 0
        assert outbox_row(engine, row.id).status == "recorded" == row.status
        assert mailbox.envelopes == []

    def test_a_server_that_is_down_means_retries_with_backoff_then_failed(self, make_engine,
                                                                          clock):
        engine = make_engine(f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
        row = notify(engine, "applicant@thermocam.be")
        assert engine.deliver_notifications() == 0
        row = outbox_row(engine, row.id)
        assert (row.status, row.attempts, row.locked_by) == ("pending", 1, None)
        assert row.deliver_after == START + timedelta(seconds=10)
        assert "ConnectionRefusedError" in row.last_error
        assert engine.deliver_notifications() == 0  # not yet due
        assert outbox_row(engine, row.id).attempts == 1
        clock.advance(timedelta(seconds=10))
        engine.deliver_notifications()
        row = outbox_row(engine, row.id)
        assert (row.attempts, row.deliver_after) == (2, clock.now() + timedelta(seconds=20))
        clock.advance(timedelta(seconds=20))
        engine.deliver_notifications()
        row = outbox_row(engine, row.id)
        assert (row.status, row.attempts, row.sent_at) == ("failed", 3, None)
        clock.advance(timedelta(days=1))
        engine.deliver_notifications()
        assert outbox_row(engine, row.id).attempts == 3

    def test_an_invalid_address_fails_at_once(self, make_engine, smtp):
        url, mailbox = smtp
        engine = make_engine(url)
        row = notify(engine, "ana@bi.brussels, the applicant")
        assert engine.deliver_notifications() == 0
        row = outbox_row(engine, row.id)
        assert (row.status, row.attempts) == ("failed", 1)
        assert row.last_error == "'the applicant' is not an e-mail address"
        assert mailbox.envelopes == []

    def test_a_group_without_an_address_is_a_failed_attempt(self, make_engine, smtp):
        url, mailbox = smtp
        engine = make_engine(url)
        row = notify(engine, "group:minister-cabinet")
        engine.deliver_notifications()
        row = outbox_row(engine, row.id)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error == "group 'minister-cabinet' has no member with an e-mail address"
        assert mailbox.envelopes == []

    def test_an_expired_lease_is_claimed_again_and_the_mail_goes_once(self, make_engine, smtp,
                                                                      clock):
        url, mailbox = smtp
        engine = make_engine(url)
        row = notify(engine, "applicant@thermocam.be")
        [claimed] = engine._command(SYSTEM, lambda ctx: claim_due(
            ctx, "worker-that-died", 10, timedelta(minutes=5)))
        assert claimed.id == row.id
        assert engine.deliver_notifications() == 0  # its lease still runs
        clock.advance(timedelta(minutes=5, seconds=1))
        assert engine.deliver_notifications() == 1
        assert engine.deliver_notifications() == 0
        assert len(mailbox.envelopes) == 1
        assert outbox_row(engine, row.id).status == "sent"

    def test_max_messages_bounds_a_run(self, make_engine, smtp):
        url, mailbox = smtp
        engine = make_engine(url)
        for key in ("LIC-1", "LIC-2", "LIC-3"):
            notify(engine, "applicant@thermocam.be", key)
        assert engine.deliver_notifications(max_messages=2) == 2
        assert engine.deliver_notifications() == 1
        assert [m["Subject"].split()[1] for m in mailbox.messages()] == [
            "LIC-1", "LIC-2", "LIC-3"]

    @pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
    def test_login_with_percent_decoded_credentials(self, make_engine):
        mailbox, port, logins = Mailbox(), free_port(), []

        def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
            logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=True)

        controller = Controller(mailbox, hostname="127.0.0.1", port=port,
                                authenticator=authenticate, auth_require_tls=False,
                                auth_required=True)
        controller.start()
        try:
            engine = make_engine(f"smtp://relay%40bi:p%40ss%3Aw%2Frd@127.0.0.1:{port}")
            notify(engine, "applicant@thermocam.be")
            assert engine.deliver_notifications() == 1
        finally:
            controller.stop()
        assert logins == [(b"relay@bi", b"p@ss:w/rd")]
        assert len(mailbox.envelopes) == 1


class TestConfiguration:
    @pytest.mark.parametrize(("url", "expected"), [
        ("smtp://mail.bi.brussels:2525", ("mail.bi.brussels", 2525, "plain", None, None)),
        ("smtp://mail.bi.brussels", ("mail.bi.brussels", 25, "plain", None, None)),
        ("smtp://u%40bi:p%3Aw@mail:587?starttls=true", ("mail", 587, "starttls", "u@bi", "p:w")),
        ("smtps://mail.bi.brussels", ("mail.bi.brussels", 465, "tls", None, None)),
    ])
    def test_url_forms(self, url, expected):
        server = smtp_server(url)
        assert (server.host, server.port, server.security, server.username,
                server.password) == expected

    @pytest.mark.parametrize(("url", "reason"), [
        ("http://mail:25", "expected smtp://"),
        ("smtp://:25", "no host"),
        ("smtp://mail:port", "not a valid URL"),
        ("smtp://mail:25/relay", "no path"),
        ("smtp://mail:25?starttls=maybe", "true or false"),
        ("smtp://mail:25?tls=1", "unknown option(s) tls"),
        ("smtps://mail?starttls=true", "starttls does not apply"),
    ])
    def test_a_malformed_url_is_refused_clearly(self, url, reason):
        with pytest.raises(SmtpConfigurationError, match="BIFLOW_SMTP_URL") as refused:
            check_configuration(url, SENDER)
        assert reason in str(refused.value)

    def test_the_error_does_not_echo_a_password(self):
        with pytest.raises(SmtpConfigurationError) as refused:
            smtp_server("smtp://u:secret@mail:25?starttls=1")
        assert "secret" not in str(refused.value)

    def test_a_bad_sender_is_refused(self):
        check_configuration(None, "whatever")  # no SMTP: nothing is sent
        with pytest.raises(SmtpConfigurationError, match="BIFLOW_SMTP_FROM"):
            check_configuration("smtp://mail:25", "biflow")


class TestListing:
    @pytest.fixture
    def recorded(self, client, engine, deploy):
        deploy("notify_group.bpmn")
        first, second = (notify(engine, recipient, key) for recipient, key in (
            ("group:licensing-unit", "LIC-1"), ("applicant@thermocam.be", "LIC-2")))
        return first, second

    def test_admins_see_the_outbox_newest_first(self, client, recorded):
        first, second = recorded
        response = client.get("/api/notifications", "ada")
        assert response.status_code == 200, response.get_json()
        items = response.get_json()["items"]
        assert [i["id"] for i in items] == [second.id, first.id]
        assert items[1] == {
            "id": first.id, "instance_id": first.instance_id, "task_id": first.task_id,
            "topic": "notify", "channel": "email", "recipient": "group:licensing-unit",
            "subject": "Licence LIC-1 for Thermocam SA",
            "body": "The licence of Thermocam SA is granted.", "status": "recorded",
            "attempts": 0, "last_error": None, "created_at": START.isoformat(),
            "sent_at": None}

    def test_filters_and_paging(self, client, recorded):
        first, second = recorded

        def ids(query: str) -> list[int]:
            response = client.get(f"/api/notifications?{query}", "ada")
            assert response.status_code == 200, response.get_json()
            return [i["id"] for i in response.get_json()["items"]]

        assert ids(f"instance_id={first.instance_id}") == [first.id]
        assert ids("status=recorded&limit=1") == [second.id]
        assert ids("status=recorded&limit=1&offset=1") == [first.id]
        assert ids("status=failed") == []

    @pytest.mark.parametrize(("query", "field"), [
        ("status=lost", "status"), ("limit=0", "limit"), ("limit=201", "limit"),
        ("offset=-1", "offset")])
    def test_bad_filters_name_the_field(self, client, query, field):
        response = client.get(f"/api/notifications?{query}", "ada")
        assert response.status_code == 422
        assert field in str(response.get_json()["error"]["details"])

    def test_only_admins(self, client):
        assert client.get("/api/notifications", "bob").status_code == 403
        assert client.get("/api/notifications").status_code == 401
