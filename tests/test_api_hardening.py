"""Hardening of the HTTP API: failed authentications rate-limited per client address,
security headers on every answer, CORS only for configured origins."""

from __future__ import annotations

import pytest
from conftest import API_USERS, Client

from api import create_app

BAD = {"Authorization": "Bearer bif_" + "x" * 43}


def make_client(engine, **config) -> Client:
    app = create_app(engine, config=config)
    app.testing = True
    tokens = {name: engine.add_user(name, groups) for name, groups in API_USERS.items()}
    return Client(app.test_client(), tokens)


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


class TestFailedAuthentications:
    def test_the_default_is_ten_a_minute_then_429_with_retry_after(self, client):
        for _ in range(10):
            assert client.get("/api/tasks", headers=BAD).status_code == 401
        refused = client.get("/api/tasks", headers=BAD)
        assert refused.status_code == 429
        assert error_code(refused) == "too_many_requests"
        assert set(refused.get_json()["error"]) == {"code", "message", "details"}
        assert 1 <= int(refused.headers["Retry-After"]) <= 60

    def test_once_over_the_limit_even_a_good_token_waits(self, client):
        """Otherwise 200-versus-429 would still tell a guesser which token is good."""
        for _ in range(10):
            client.get("/api/tasks", headers=BAD)
        assert client.get("/api/tasks", "bob").status_code == 429
        assert client.get("/api/health").status_code == 200  # public paths are not limited

    def test_successes_do_not_count(self, engine):
        client = make_client(engine, BIFLOW_AUTH_FAILURES_PER_MINUTE=3)
        for _ in range(2):
            assert client.get("/api/tasks", headers=BAD).status_code == 401
        for _ in range(20):
            assert client.get("/api/tasks", "bob").status_code == 200
        assert client.get("/api/tasks", headers=BAD).status_code == 401
        assert client.get("/api/tasks", headers=BAD).status_code == 429

    def test_failures_on_unknown_paths_count_too(self, engine):
        client = make_client(engine, BIFLOW_AUTH_FAILURES_PER_MINUTE=2)
        assert client.get("/api/nowhere", headers=BAD).status_code == 401
        assert client.post("/api/health", headers=BAD).status_code in (401, 405)
        assert client.get("/api/tasks", headers=BAD).status_code in (401, 429)
        assert client.get("/api/tasks", headers=BAD).status_code == 429

    def test_counts_are_per_client_address(self, engine):
        client = make_client(engine, BIFLOW_AUTH_FAILURES_PER_MINUTE=1)
        other = {"REMOTE_ADDR": "192.0.2.7"}
        assert client.get("/api/tasks", headers=BAD).status_code == 401
        assert client.get("/api/tasks", headers=BAD).status_code == 429
        assert client.get("/api/tasks", headers=BAD, environ_base=other).status_code == 401

    def test_the_limit_comes_from_the_environment(self, engine, monkeypatch):
        monkeypatch.setenv("BIFLOW_AUTH_FAILURES_PER_MINUTE", "1")
        client = make_client(engine)
        assert client.get("/api/tasks", headers=BAD).status_code == 401
        assert client.get("/api/tasks", headers=BAD).status_code == 429

    def test_a_limit_below_one_is_refused_at_start(self, engine):
        with pytest.raises(ValueError, match="BIFLOW_AUTH_FAILURES_PER_MINUTE"):
            create_app(engine, config={"BIFLOW_AUTH_FAILURES_PER_MINUTE": 0})


class TestSecurityHeaders:
    @pytest.mark.parametrize(("path", "user"), [("/api/health", None), ("/api/tasks", "bob"),
                                                ("/api/tasks", None), ("/api/nowhere", "bob")])
    def test_every_api_answer_carries_them(self, client, path, user):
        headers = client.get(path, user).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
        assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "Strict-Transport-Security" not in headers

    def test_the_docs_page_may_load_its_scripts(self, client):
        assert "Content-Security-Policy" not in client.get("/api/docs").headers

    def test_hsts_only_when_configured(self, engine):
        client = make_client(engine, BIFLOW_HSTS_MAX_AGE="31536000")
        headers = client.get("/api/health").headers
        assert headers["Strict-Transport-Security"] == "max-age=31536000"


class TestCors:
    ORIGIN = "https://inbox.example.org"

    def test_off_by_default(self, client):
        response = client.get("/api/tasks", "bob", headers={"Origin": self.ORIGIN})
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response.headers
        preflight = client.call("OPTIONS", "/api/tasks", headers={
            "Origin": self.ORIGIN, "Access-Control-Request-Method": "GET"})
        assert preflight.status_code == 401
        assert "Access-Control-Allow-Origin" not in preflight.headers

    def test_configured_origins_only(self, engine):
        client = make_client(engine, BIFLOW_CORS_ORIGINS=f"{self.ORIGIN}, https://b.example")
        allowed = client.get("/api/tasks", "bob", headers={"Origin": self.ORIGIN})
        assert allowed.headers["Access-Control-Allow-Origin"] == self.ORIGIN
        assert "Origin" in allowed.headers["Vary"]
        for origin in ("https://evil.example", "https://inbox.example.org.evil.example", None):
            headers = {"Origin": origin} if origin else {}
            other = client.get("/api/tasks", "bob", headers=headers)
            assert "Access-Control-Allow-Origin" not in other.headers

    def test_a_preflight_from_a_configured_origin_needs_no_token(self, engine):
        client = make_client(engine, BIFLOW_CORS_ORIGINS=self.ORIGIN)
        preflight = client.call("OPTIONS", "/api/tasks", headers={
            "Origin": self.ORIGIN, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        assert preflight.status_code == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == self.ORIGIN
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        refused = client.call("OPTIONS", "/api/tasks", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert refused.status_code == 401

    def test_errors_are_readable_by_the_allowed_origin(self, engine):
        client = make_client(engine, BIFLOW_CORS_ORIGINS=self.ORIGIN)
        response = client.get("/api/tasks", headers={"Origin": self.ORIGIN})
        assert response.status_code == 401
        assert response.headers["Access-Control-Allow-Origin"] == self.ORIGIN
