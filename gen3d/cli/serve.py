"""``gen3d serve``: the local HTTP job server (used by the Blender add-on; see gen3d/server/)."""

from __future__ import annotations

import typer

from gen3d.cli.errors import debug_enabled, fail


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Bind address (anything but loopback needs --token)."),
        port: int = typer.Option(8717, "--port", help="TCP port."),
        token: str = typer.Option(None, "--token", envvar="GEN3D_SERVE_TOKEN",
                                  help="Require 'Authorization: Bearer TOKEN' on every request "
                                       "(or set GEN3D_SERVE_TOKEN)."),
        model: str = typer.Option("gen3d-small", "--model", help="Model name (gen3d models list) or folder."),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda | mps."),
        preload: bool = typer.Option(False, "--preload", help="Load the model before accepting requests."),
        jobs_dir: str = typer.Option(None, "--jobs-dir", help="Keep results here (default: a temp folder removed "
                                     "on exit)."),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks and request logs."),
    ) -> None:
        """Serve generation jobs over HTTP JSON (progress, cancel, queue, GLB results).

        Examples:
          gen3d serve                                  # http://127.0.0.1:8717, model loads on first job
          gen3d serve --preload --device cuda
          gen3d serve --host 0.0.0.0 --token SECRET    # a shared GPU box
        """
        from gen3d.server.app import _loopback

        if not (1 <= port <= 65535):
            fail(f"--port {port} is out of range: use 1..65535")
        if not _loopback(host) and not token:
            fail(f"binding {host} exposes the server to the network: add --token SECRET (or GEN3D_SERVE_TOKEN), "
                 "or use --host 127.0.0.1")
        if token is not None and len(token) < 8:
            fail("--token is too short: use at least 8 characters")
        try:
            import uvicorn

            from gen3d.server.app import create_app
        except ImportError as e:
            fail(f"the server needs extra packages ({e.name} is missing): pip install 'gen3d[server]'")
        _check_bind(host, port)  # before loading anything: a clear one-line error for a busy port
        try:
            app = create_app(model=model, device=device, token=token, preload=preload, jobs_dir=jobs_dir)
        except Exception as e:  # noqa: BLE001 - a one-line error below
            if debug or debug_enabled():
                raise
            fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
        typer.secho(f"gen3d serve: http://{host}:{port} (model {model}, device {app.state.manager.device}"
                    f"{', token required' if token else ''}); Ctrl+C stops", err=True)
        try:
            uvicorn.run(app, host=host, port=port, log_level="info" if debug else "warning", access_log=debug)
        except (OSError, SystemExit) as e:
            fail(f"cannot listen on {host}:{port} ({getattr(e, 'strerror', None) or e}): choose another --port")
        finally:
            app.state.manager.close()  # also when uvicorn exits without a lifespan shutdown


def _check_bind(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        fail(f"cannot resolve --host {host} ({e.strerror}): use an IP address such as 127.0.0.1")
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            fail(f"cannot listen on {host}:{port} ({e.strerror or e}): choose another --port or stop the other server")
