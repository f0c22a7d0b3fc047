"""Serving the API: waitress in this process, or gunicorn with several processes.

One Python process is bound by its interpreter lock to about one core; with
``--workers N`` each gunicorn worker builds its own engine (its own connections) and, unless
told otherwise, its own worker (timers, jobs, e-mail). Work is leased, so several workers
never do one item twice (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers).
Called by ``biflow serve`` (the CLI is the only importer of ``api``).
"""

from __future__ import annotations

from api.app import create_app
from engine.core import Engine, database_url


def serve_in_process(engine: Engine, host: str, port: int, threads: int,
                     run_executor: bool, dev_clock: bool = False) -> None:
    import waitress

    halt = engine.run_in_background() if run_executor else None
    try:
        waitress.serve(create_app(engine, dev_clock=dev_clock), host=host, port=port,
                       threads=threads, ident="biflow", _quiet=True)
    finally:
        if halt is not None:
            halt()


def serve_with_workers(host: str, port: int, workers: int, threads: int,
                       run_executor: bool, dev_clock: bool = False) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": f"{host}:{port}", "workers": workers,
                               "threads": threads, "worker_class": "gthread",
                               "preload_app": False, "accesslog": None,
                               "graceful_timeout": 20}.items():
                self.cfg.set(key, value)

        def load(self):
            engine = Engine.from_url(database_url(), upgrade=False, dev_clock=dev_clock)
            if run_executor:
                engine.run_in_background()
            return create_app(engine, dev_clock=dev_clock)

    Application().run()
