"""
Runs events through Salt's own reactor system, up to the point where it would call a client:
salt.utils.reactor.Reactor picks the reactor files for the event's tag from the master's
`reactor` map, renders and compiles them (Salt's Jinja and YAML renderers), and
salt.utils.reactor.ReactWrap turns each reaction into a client call, with its own argument
handling. Only the last step is replaced: the calls are recorded instead of run (no master, no
minions, no HTTP). Runner calls are also bound to the runner function as the master loads it
(its `runner_dirs`, so `dc_forward.post` is the tree's salt/_runners/dc_forward.py), and a
`dc_forward.post` call must pass exactly `path` (an absolute URL path) and `data` (a mapping):
its other arguments are for tests, and must never come from a reactor.

Run with the Python of the pinned Salt venv (test/env/salt/install.sh). Reads one JSON request:
  {"master_config": PATH, "cases": [{"tag": TAG, "data": {...}}, ...]}
and writes {"results": [{"reactors": [files], "calls": [...], "errors": [...]}, ...]}.
Salt only logs reactor render errors; every warning or error it logs is returned in "errors".
"""

import inspect
import json
import logging
import sys

import salt.config
import salt.runner
import salt.utils.reactor


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += " (%s: %s)" % (record.exc_info[0].__name__, record.exc_info[1])
        self.messages.append("%s %s: %s" % (record.levelname, record.name, text))


class RecordingPool:
    """Stands in for ReactWrap's thread pool: records runner and wheel calls."""

    def __init__(self, calls, kind):
        self.calls = calls
        self.kind = kind

    def fire_async(self, func, args=None, kwargs=None):
        fun, low = args
        self.calls.append({"kind": self.kind, "fun": fun, "arg": list(low.get("arg", ())), "kwarg": low.get("kwarg", {})})
        return True


class RecordingLocal:
    """Stands in for LocalClient: records what would be published to minions."""

    def __init__(self, calls):
        self.calls = calls

    def cmd_async(self, tgt, fun, arg=(), tgt_type="glob", ret="", jid="", kwarg=None, **kwargs):
        self.calls.append({"kind": "local", "fun": fun, "tgt": tgt, "tgt_type": tgt_type, "arg": list(arg), "kwarg": kwarg or {}})


def bind_errors(runner, call):
    """Arguments of a runner call that its function would refuse, or that a reactor must not pass."""
    fun = call["fun"]
    if fun not in runner.functions:
        return ["runner function %s does not exist (runner_dirs: %s)" % (fun, runner.opts.get("runner_dirs"))]
    try:
        inspect.signature(runner.functions[fun]).bind(*call["arg"], **call["kwarg"])
    except TypeError as exc:
        return ["%s: %s" % (fun, exc)]
    if fun != "dc_forward.post":
        return []
    errors = []
    if call["arg"] or set(call["kwarg"]) != {"path", "data"}:
        errors.append("dc_forward.post takes exactly path and data from a reactor, got %s %s" % (call["arg"], sorted(call["kwarg"])))
    path = call["kwarg"].get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        errors.append("dc_forward.post: path %r is not an absolute URL path" % (path,))
    if not isinstance(call["kwarg"].get("data"), dict):
        errors.append("dc_forward.post: data %r is not a mapping" % (call["kwarg"].get("data"),))
    return errors


def main():
    request = json.load(sys.stdin)
    opts = salt.config.master_config(request["master_config"])
    collect = Collect()
    logging.getLogger("salt").addHandler(collect)
    reactor = salt.utils.reactor.Reactor(opts)
    runner = salt.runner.RunnerClient(opts)
    results = []
    for case in request["cases"]:
        collect.messages = []
        calls = []
        wrap = salt.utils.reactor.ReactWrap(opts)
        wrap.client_cache = {"runner": runner, "local": RecordingLocal(calls)}
        wrap.pool = RecordingPool(calls, "runner")
        reactors = reactor.list_reactors(case["tag"])
        chunks = reactor.reactions(case["tag"], case["data"], reactors)
        for chunk in chunks:
            if chunk["state"] not in ("runner", "local"):
                collect.messages.append("reaction kind %s is not recorded by this test" % chunk["state"])
                continue
            wrap.run(chunk)
        errors = list(collect.messages)
        for call in calls:
            if call["kind"] == "runner":
                errors.extend(bind_errors(runner, call))
        results.append({"reactors": reactors, "ids": [c["__id__"] for c in chunks], "calls": calls, "errors": errors})
    json.dump({"results": results}, sys.stdout, default=str)


if __name__ == "__main__":
    main()
