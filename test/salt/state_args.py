"""
Checks rendered states' arguments the way Salt binds them when it runs a state, without running
it: each state function is taken from Salt's own state module (salt.states.<module>) and its
arguments go through salt.utils.args.format_call with Salt's list of keywords the state system
handles itself (salt.state.STATE_INTERNAL_KEYWORDS), exactly as salt.state.State.call does. A
misspelt or unknown argument, or a missing required one, is the SaltInvocationError that would
abort the whole state run on the minion.

Run with the Python of the pinned Salt venv (test/env/salt/install.sh). Reads a JSON list of
{"id", "module", "function", "args"} on stdin and writes {"errors": [...], "checked": N}.
"""

import importlib
import json
import sys

import salt.exceptions
import salt.state
import salt.utils.args


def state_function(module_name, function_name):
    module = importlib.import_module("salt.states." + module_name)
    # Functions whose Python name differs from their state name (e.g. `list_` as `list`).
    aliases = {alias: real for real, alias in getattr(module, "__func_alias__", {}).items()}
    return getattr(module, aliases.get(function_name, function_name), None)


def main():
    states = json.load(sys.stdin)
    errors = []
    checked = 0
    for state in states:
        label = "%s (%s.%s)" % (state["id"], state["module"], state["function"])
        try:
            func = state_function(state["module"], state["function"])
        except ImportError as exc:
            errors.append("%s: no state module salt.states.%s: %s" % (label, state["module"], exc))
            continue
        if func is None:
            errors.append("%s: salt.states.%s has no function %s" % (label, state["module"], state["function"]))
            continue
        # The low chunk Salt builds: the ID is the name unless `name` is given.
        low = {"name": state["id"], "state": state["module"], "fun": state["function"], "__id__": state["id"]}
        low.update(state["args"])
        try:
            salt.utils.args.format_call(func, low, expected_extra_kws=salt.state.STATE_INTERNAL_KEYWORDS)
        except salt.exceptions.SaltInvocationError as exc:
            errors.append("%s: %s" % (label, exc))
        checked += 1
    json.dump({"errors": errors, "checked": checked}, sys.stdout)


if __name__ == "__main__":
    main()
