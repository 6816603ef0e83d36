"""
Dynamic Cluster forwarder (Salt runner module ``dc_forward``).

Every reactor of the head node (salt/reactor/*.sls) hands its event to the Dynamic Cluster
service through this runner instead of ``runner.http.query``:

    dynamic-cluster-reactor-...-forward:
      runner.dc_forward.post:
        - args:
          - path: /salt/auth
          - data: {"id": ..., "act": ..., "pub": ...}

``post`` reads the bearer-token header file salt_master.sls writes (root:salt, 0640: the Salt
reactors' own token, which the service accepts on its ``/local/v1/salt/`` routes only), POSTs
``data`` as JSON to the service's local API on the loopback, and never raises into the reactor.
Why not ``http.query`` with ``raise_error: False``: its failures (status 599 when the service
is down, 401 when the token is stale, a PermissionError on the header file) are logged only at
DEBUG, so a head node that admits no worker said nothing about why. Here every failure is
logged at WARNING in the master's log (/var/log/salt/master), with the reason and what to check;
a forward that worked is logged at INFO. The outcome is also the runner's return value, so it is
in the master's job cache (``salt-run jobs.list_jobs search_function=dc_forward.post``).

The master finds this file through ``runner_dirs: [/srv/salt/_runners]`` in its config
(dynamic_cluster/files/head/salt-master.conf.jinja). Standard library only: it runs in Salt's
onedir Python.
"""

import http.client
import json
import logging
import os
import pwd
import urllib.error
import urllib.request

log = logging.getLogger(__name__)

# Where the reactors send events: the service's local API on the loopback and the token header
# file salt_master.sls writes (test/unit/salt-reactors.test.ts checks both against
# components/ports.ts and dynamic_cluster/defaults.yaml).
LOCAL_API = "http://127.0.0.1:8081/local/v1"
HEADER_FILE = "/etc/dynamic-cluster/reactor-local-api.header"
# Seconds to connect and, separately, to wait for the answer. The service answers at once (it
# queues the work); a reactor thread must not hang on a stuck service.
TIMEOUT_SECONDS = 5
# How much of the service's answer goes into the return value and into a warning.
ANSWER_BYTES = 4096
LOG_ANSWER_BYTES = 200


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an unexpected answer of the local API, not something to follow."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# No proxy (a proxy from the master's environment must not see the loopback API or the
# token), no redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _user():
    """The name of the user this process runs as (its effective UID, not $USER)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return "uid %d" % os.geteuid()


def read_headers(header_file):
    """
    The headers in ``header_file``, one ``Name: value`` per line (as salt_master.sls writes
    them). Raises OSError when the file cannot be read and ValueError when it has no
    Authorization line.
    """
    with open(header_file, encoding="utf-8") as handle:
        text = handle.read()
    headers = {}
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers[name.strip()] = value.strip()
    if not any(name.lower() == "authorization" for name in headers):
        raise ValueError("it has no 'Authorization:' line")
    return headers


def _snippet(raw, limit):
    text = raw[:limit].decode("utf-8", errors="replace")
    return text + ("..." if len(raw) > limit else "")


def post(path, data, header_file=HEADER_FILE, local_api=LOCAL_API):
    """
    POSTs ``data`` (a dict) as JSON to the Dynamic Cluster service's local API at ``path``
    (e.g. ``/salt/auth``), with the headers of the header file. Never raises: the outcome is
    returned, and every failure is logged at WARNING.

    ``header_file`` and ``local_api`` exist for the tests only (a temporary header file, a test
    server); the reactors pass neither, so the master always uses HEADER_FILE and LOCAL_API.

    Returns ``{"ok": bool, "url": str, "status": int or None, "answer": str}`` plus
    ``"reason"`` when ``ok`` is False; ``status`` is None when no HTTP answer came.

    CLI Example:

    .. code-block:: bash

        salt-run dc_forward.post /salt/start data='{"id": "dc-..."}'
    """
    url = "%s%s" % (local_api, path)
    outcome = {"ok": False, "url": url, "status": None, "answer": ""}

    def fail(reason, *args):
        outcome["reason"] = reason % args
        log.warning("dc_forward: POST %s not delivered: %s", url, outcome["reason"])
        return outcome

    try:
        if not isinstance(path, str) or not path.startswith("/") or any(c.isspace() for c in path):
            return fail("the path %r is not an absolute URL path", path)
        if not isinstance(data, dict):
            return fail("the data is a %s, not a mapping (a reactor bug)", type(data).__name__)
        try:
            body = json.dumps(data).encode("utf-8")
        except (TypeError, ValueError) as exc:
            return fail("the data cannot be sent as JSON (%s)", exc)
        try:
            headers = read_headers(header_file)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            return fail(
                "cannot read the header file %s (%s: %s); it must be readable by the user the "
                "salt-master runs as (this process runs as %s): root:salt, mode 0640, as the "
                "head node's state dynamic_cluster.head.salt_master writes it",
                header_file,
                type(exc).__name__,
                exc,
                _user(),
            )
        headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
                raw = response.read(ANSWER_BYTES + 1)
                outcome["status"] = response.status
        except urllib.error.HTTPError as exc:
            outcome["status"] = exc.code
            try:
                raw = exc.read(ANSWER_BYTES + 1)
            except (OSError, http.client.HTTPException):
                raw = b""
            outcome["answer"] = _snippet(raw, ANSWER_BYTES)
            hint = ""
            if exc.code == 401:
                hint = " (the token in %s is not the service's; re-run the head's state.apply)"
                hint %= header_file
            elif exc.code == 403:
                hint = (
                    " (the token in %s is not the Salt reactors' token, the only one the service "
                    "accepts on /local/v1/salt/; re-run the head's state.apply)"
                )
                hint %= header_file
            elif exc.code == 429:
                hint = " (the service refuses this caller for a while after too many wrong tokens)"
            return fail(
                "the service answered %s %s%s: %s",
                exc.code,
                exc.reason,
                hint,
                _snippet(raw, LOG_ANSWER_BYTES),
            )
        except urllib.error.URLError as exc:
            return fail(
                "cannot connect to the Dynamic Cluster service (%s); is it running? "
                "(systemctl status dynamic-cluster)",
                exc.reason,
            )
        except TimeoutError as exc:  # socket.timeout: connected, but no answer in time
            return fail(
                "no answer from the Dynamic Cluster service within %s s (%s: %s)",
                TIMEOUT_SECONDS,
                type(exc).__name__,
                exc,
            )
        except (OSError, http.client.HTTPException) as exc:
            # A reset, a closed connection, a garbled answer.
            return fail(
                "the connection to the Dynamic Cluster service failed (%s: %s)",
                type(exc).__name__,
                exc,
            )
        outcome["answer"] = _snippet(raw, ANSWER_BYTES)
        outcome["ok"] = True
        log.info("dc_forward: POST %s: %s", url, outcome["status"])
        return outcome
    except Exception as exc:  # pylint: disable=broad-except
        # Never raise into the reactor; say what went wrong.
        log.warning("dc_forward: POST %s failed unexpectedly", url, exc_info=True)
        outcome["reason"] = "%s: %s" % (type(exc).__name__, exc)
        return outcome
