"""Delivering outbox e-mail over SMTP, after the commit that recorded it (transactional outbox).

A job's command records its messages with the rest of its work, so a rolled-back command
mails nobody and an SMTP outage never rolls a command back. Here, due messages are claimed
with a lease in a short command (as jobs are), sent outside any transaction over one SMTP
connection per batch, and each outcome is recorded in a short command of its own.

Delivery is at least once: a worker that dies after the server took a message, but before
recording it, leaves a lease that expires, and the message goes again.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.db.models import OutboxMessage, User, UserGroup
from engine.identity import SYSTEM
from engine.runtime import leases
from engine.runtime.context import Context
from engine.runtime.jobs import MAX_ERROR_LENGTH

if TYPE_CHECKING:
    from engine.core import Engine

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10.0
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
GROUP_PREFIX = "group:"


class SmtpConfigurationError(ValueError):
    """BIFLOW_SMTP_URL or BIFLOW_SMTP_FROM is unusable: fail at start, not at every send."""


class DeliveryError(Exception):
    """Why a message did not go: retried with backoff, unless ``permanent``."""

    permanent = False


class Undeliverable(DeliveryError):
    """The message can never go as it is (an invalid address): failed at once."""

    permanent = True


# -- configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    #: "plain", "starttls" or "tls" (implicit, smtps)
    security: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS,
                context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if self.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username is not None:
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client


@lru_cache(maxsize=8)
def smtp_server(url: str) -> SmtpServer:
    """Parse ``smtp://[user:password@]host[:port][?starttls=true]`` or ``smtps://...``,
    once per URL. User and password are percent-decoded; the error never echoes the URL
    (it may hold a password)."""
    def refuse(reason: str) -> SmtpConfigurationError:
        return SmtpConfigurationError(f"BIFLOW_SMTP_URL: {reason}")

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise refuse(f"not a valid URL ({exc})") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise refuse("expected smtp://host:port or smtps://host:port")
    if not parts.hostname:
        raise refuse("no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise refuse("no path expected after host:port")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    if set(options) - {"starttls"}:
        raise refuse(f"unknown option(s) {', '.join(sorted(set(options) - {'starttls'}))}"
                     " (only starttls)")
    starttls = options.get("starttls", "false").lower()
    if starttls not in ("true", "false"):
        raise refuse("starttls must be true or false")
    if parts.scheme == "smtps" and starttls == "true":
        raise refuse("smtps is TLS from the start: starttls does not apply")
    security = "tls" if parts.scheme == "smtps" else "starttls" if starttls == "true" else "plain"
    return SmtpServer(
        parts.hostname, port or DEFAULT_PORTS[parts.scheme], security,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None)


def address_of(text: str) -> str | None:
    """The address in ``a@b`` or ``Name <a@b>``; None when there is no plausible one."""
    address = parseaddr(text)[1]
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(c.isspace() for c in address):
        return None
    return address


def check_configuration(url: str | None, sender: str) -> None:
    """Raise :class:`SmtpConfigurationError` for a malformed BIFLOW_SMTP_URL or
    BIFLOW_SMTP_FROM; for the engine to call when it starts."""
    if url is None:
        return
    smtp_server(url)
    if address_of(sender) is None:
        raise SmtpConfigurationError(f"BIFLOW_SMTP_FROM: '{sender}' is not an e-mail address")


# -- the database side: claiming, recipients, outcomes ------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A claimed message with its recipients resolved, or the problem that stops it."""

    id: int
    instance_id: str | None
    subject: str
    body: str
    addresses: tuple[str, ...] = ()
    problem: DeliveryError | None = None


def group_addresses(session: Session, group: str) -> list[str]:
    """E-mail addresses of the group's members; members without a usable one are skipped."""
    emails = session.scalars(
        select(User.email).join(UserGroup, UserGroup.user_id == User.id)
        .where(UserGroup.group == group, User.email.is_not(None)).order_by(User.id))
    return [address for address in map(address_of, emails) if address]


def recipients(session: Session, recipient: str | None) -> tuple[str, ...]:
    """Addresses for ``recipient``: comma-separated addresses and ``group:NAME`` items,
    groups expanded now (at delivery), duplicates removed."""
    found: list[str] = []
    for item in (part.strip() for part in (recipient or "").split(",")):
        if item.startswith(GROUP_PREFIX):
            group = item.removeprefix(GROUP_PREFIX).strip()
            members = group_addresses(session, group)
            if not members:
                raise DeliveryError(f"group '{group}' has no member with an e-mail address")
            found += members
        elif item:
            address = address_of(item)
            if address is None:
                raise Undeliverable(f"'{item}' is not an e-mail address")
            found.append(address)
    if not found:
        raise Undeliverable("the message has no recipient")
    return tuple(dict.fromkeys(found))


def claim_due(ctx: Context, worker: str, limit: int, lease: timedelta) -> list[Outgoing]:
    rows = leases.claim(
        ctx.session, OutboxMessage,
        [OutboxMessage.status == "pending", OutboxMessage.channel == "email",
         or_(OutboxMessage.deliver_after.is_(None), OutboxMessage.deliver_after <= ctx.now)],
        [OutboxMessage.id], worker=worker, limit=limit, lease=lease, now=ctx.now)
    claimed = []
    for row in rows:
        try:
            addresses, problem = recipients(ctx.session, row.recipient), None
        except DeliveryError as exc:
            addresses, problem = (), exc
        claimed.append(Outgoing(row.id, row.instance_id, row.subject or "", row.body or "",
                                addresses, problem))
    return claimed


def record_sent(ctx: Context, message_id: int, note: str | None = None) -> None:
    """Sent, even when the lease ran out meanwhile: the new holder then has nothing to do."""
    row = ctx.session.get(OutboxMessage, message_id)
    if row is None or row.status != "pending":
        return
    row.status = "sent"
    row.sent_at = ctx.now
    row.last_error = note
    row.locked_by = row.lock_expires_at = None


def record_failure(ctx: Context, message_id: int, worker: str, error: DeliveryError) -> None:
    """Count a failed attempt: retry with exponential backoff, or give up (status failed)."""
    row = ctx.session.get(OutboxMessage, message_id)
    if row is None or row.status != "pending" or row.locked_by != worker:
        return  # another worker holds it now; its outcome counts
    services = ctx.services
    row.attempts += 1
    row.last_error = str(error)[:MAX_ERROR_LENGTH]
    row.locked_by = row.lock_expires_at = None
    if error.permanent or row.attempts >= services.job_max_attempts:
        row.status = "failed"
        log.warning("e-mail %s failed for good after %s attempt(s): %s", row.id, row.attempts,
                    row.last_error)
    else:
        row.deliver_after = ctx.now + timedelta(
            seconds=services.job_backoff_seconds * 2 ** (row.attempts - 1))


# -- the SMTP side ------------------------------------------------------------------------


class SmtpBatch:
    """One SMTP connection for a batch: opened on first use, reopened after a failed send;
    when the server cannot be reached, the rest of the batch fails without trying again."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.client: smtplib.SMTP | None = None
        self.unreachable: Exception | None = None

    def send(self, message: EmailMessage, addresses: Sequence[str]) -> dict:
        """Send; answer the recipients the server refused (when it took the others)."""
        if self.unreachable is not None:
            raise self.unreachable
        if self.client is None:
            try:
                self.client = self.server.connect()
            except Exception as exc:
                self.unreachable = exc
                raise
        try:
            return self.client.send_message(message, to_addrs=list(addresses))
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()

    def __enter__(self) -> SmtpBatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class OutboxDelivery:
    """Sends due outbox e-mail when the engine has an SMTP URL; otherwise does nothing
    (rows were recorded as ``recorded``, not ``pending``)."""

    def __init__(self, engine: Engine, worker_id: str | None = None, batch: int = 20,
                 lease: timedelta = timedelta(minutes=5)) -> None:
        self.engine = engine
        self.server = smtp_server(engine.smtp_url) if engine.smtp_url is not None else None
        self.worker_id = worker_id or leases.new_worker_id()
        self.batch = batch
        self.lease = lease
        self.domain = (address_of(engine.smtp_sender) or "@localhost").rpartition("@")[2]

    def run_due(self, max_messages: int | None = None) -> int:
        """Claim and send due e-mail until none is due or ``max_messages`` were tried;
        return how many were sent."""
        if self.server is None:
            return 0
        tried = sent = 0
        while max_messages is None or tried < max_messages:
            limit = self.batch if max_messages is None else min(self.batch, max_messages - tried)
            claimed = self.engine._command(SYSTEM, lambda ctx, n=limit: claim_due(
                ctx, self.worker_id, n, self.lease))
            if not claimed:
                break
            with SmtpBatch(self.server) as smtp:
                sent += sum(self._deliver(smtp, outgoing) for outgoing in claimed)
            tried += len(claimed)
        return sent

    def _deliver(self, smtp: SmtpBatch, outgoing: Outgoing) -> bool:
        """Send one message (outside any transaction) and record the outcome."""
        if outgoing.problem is not None:
            self._fail(outgoing, outgoing.problem)
            return False
        try:
            refused = smtp.send(self.compose(outgoing), outgoing.addresses)
        except Exception as exc:  # network, TLS, SMTP replies, headers: a failed attempt
            self._fail(outgoing, DeliveryError(f"{type(exc).__name__}: {exc}"))
            return False
        note = None
        if refused:
            note = "refused: " + ", ".join(f"{address} ({code})"
                                           for address, (code, _) in refused.items())
            log.warning("e-mail %s: %s", outgoing.id, note)
        self.engine._command(SYSTEM, lambda ctx: record_sent(ctx, outgoing.id, note))
        return True

    def _fail(self, outgoing: Outgoing, error: DeliveryError) -> None:
        log.info("e-mail %s not sent: %s", outgoing.id, error)
        self.engine._command(SYSTEM, lambda ctx: record_failure(
            ctx, outgoing.id, self.worker_id, error))

    def compose(self, outgoing: Outgoing) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.engine.smtp_sender
        message["To"] = ", ".join(outgoing.addresses)
        message["Subject"] = " ".join(outgoing.subject.split())  # one line, whatever the data
        message["Date"] = format_datetime(self.engine.clock.now())
        message["Message-ID"] = make_msgid(f"biflow.{outgoing.id}", domain=self.domain)
        if outgoing.instance_id is not None:
            message["X-Biflow-Instance"] = outgoing.instance_id
        message["X-Biflow-Outbox-Id"] = str(outgoing.id)
        message.set_content(outgoing.body)
        return message
