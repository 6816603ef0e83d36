#!/usr/bin/python3
"""
Renders the project's Salt tree the way a Salt 3006 minion/master would, with real Jinja2 and
PyYAML from Debian (no Salt code), and checks the result has the structure Salt expects.

Reads one JSON request on stdin and writes one JSON answer on stdout:

  {"mode": "highstate", "tree": DIR, "pillar": {...}, "grains": {...}}
      -> {"sls": [names in order], "states": {id: {"module", "function", "args", "sls"}},
          "files": {path: {"content", "mode", "source", "state"}}, "errors": [...]}
  {"mode": "reactor", "tree": DIR, "file": "reactor/auth.sls", "tag": TAG, "data": {...}}
      -> {"reactions": {id: {"kind", "function", "args"}}, "errors": [...]}
  {"mode": "template", "tree": DIR, "file": PATH, "context": {...}, "pillar", "grains"}
      -> {"content": TEXT}

What is reproduced from Salt's Jinja environment: the file-roots loader, StrictUndefined, the
`do` and loop-control extensions, `import_yaml`, the `json`/`tojson` filters, the globals
(`salt`, `grains`, `pillar`, `opts`, `sls`, `tpldir`, `tplroot` via tpldir, `slspath`), the
handful of execution functions the tree calls through `salt[...]` (listed in salt_functions();
any other call is an error, so the list is the tree's whole dependency on Salt's modules), and
what file.managed does to `contents` (every line ends with a newline).

Why it is kept now that the integration stage runs Salt itself
(test/integration/salt-real-render.test.ts, Salt 3006.28 from PyPI): it is the part real Salt
cannot take over.
- The unit stage runs without Salt: `npm test -- unit` installs nothing from PyPI and renders
  every config in milliseconds, so the structure checks below and the unit tests' assertions on
  rendered files give feedback before the integration stage.
- Other tests feed the files it renders to real daemons (slurmctld, carbon, nginx, exportfs, the
  service harness: its master config, header files and settings file). Events run through the
  real master and its reactors there, not through this rendering.
It is not trusted on its own: the integration stage asserts that for every config and role Salt
finds exactly the same states (IDs, module.function, arguments, SLS, order), that Salt's file
states write every file byte for byte as rendered here with the same mode, and that Salt's
reactor system makes exactly the calls rendered here. Its own structure checks (known
module.function names, requisite targets, sources, contents_pillar keys, the runner functions
reactors may call and their arguments) are pre-checks for the unit stage; Salt repeats them there
(test/salt/state_args.py binds every argument to Salt's own state function, reactor_real.py every
runner call to the runner the master loads). What neither can show on a Debian test machine (that the states apply on Rocky
9) is listed in docs/testing.md, "What the tests prove, by layer".
"""

import copy
import fnmatch
import hashlib
import ipaddress
import json
import os
import re
import sys

import jinja2
import jinja2.ext
import yaml
from jinja2 import nodes

# State modules and functions the tree may use (all exist in Salt 3006/3008; names checked
# against salt/states/*.py). A typo in a state's module.function fails the test.
KNOWN_STATE_FUNCTIONS = {
    "blockdev": {"formatted"},
    "cmd": {"run"},
    "event": {"send"},
    "file": {"managed", "directory", "decode", "serialize", "absent", "symlink", "replace"},
    "group": {"present"},
    "host": {"present"},
    "ipset": {"set_present"},
    "mount": {"mounted"},
    "pkg": {"installed"},
    "saltutil": {"sync_modules"},
    "schedule": {"present"},
    "selinux": {"boolean"},
    "service": {"running", "dead", "enabled"},
    "ssh_auth": {"manage", "present"},
    "test": {"fail_without_changes", "show_notification", "nop"},
    "user": {"present"},
}
REQUISITES = {
    "require", "watch", "onchanges", "onfail", "onfail_any", "prereq", "listen",
    "require_in", "watch_in", "onchanges_in", "onfail_in",
}
REACTION_KINDS = {"local", "runner", "wheel", "caller"}
# Runner functions the reactors may call, with exactly the arguments they pass: every forward
# to the service goes through salt/_runners/dc_forward.py (its other arguments are for tests).
# test/salt/reactor_real.py binds them to the real function under Salt.
KNOWN_RUNNER_FUNCTIONS = {"dc_forward.post": {"path", "data"}}


class RenderError(Exception):
    pass


def path_get(data, key, default=None, delimiter=":"):
    node = data
    for part in key.split(delimiter):
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return default
    return node


def merge_recurse(base, overlay):
    result = copy.deepcopy(base)
    for key, value in (overlay or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_recurse(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def file_read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def salt_functions(pillar, grains):
    def slsutil_merge(obj_a, obj_b, strategy="smart", renderer="yaml", merge_lists=False):
        if strategy not in ("recurse", "smart"):
            raise RenderError("slsutil.merge: strategy %r is not used by this tree" % strategy)
        return merge_recurse(obj_a, obj_b)

    return {
        "pillar.get": lambda key, default="": path_get(pillar, key, default),
        "grains.get": lambda key, default="": path_get(grains, key, default),
        "slsutil.merge": slsutil_merge,
        "hashutil.sha256_digest": lambda text: hashlib.sha256(str(text).encode()).hexdigest(),
        "file.file_exists": os.path.isfile,
        "file.read": file_read,
        "network.ip_in_subnet": lambda ip_addr, cidr: (
            ipaddress.ip_address(ip_addr) in ipaddress.ip_network(cidr, strict=False)
        ),
    }


class SaltFunctions(dict):
    def __missing__(self, key):
        raise RenderError("salt[%r] is not one of the execution functions the tests know" % key)


def salt_tojson(value, indent=None, **options):
    options.setdefault("ensure_ascii", True)
    text = json.dumps(value, indent=indent, **options)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, escape)
    return jinja2.utils.markupsafe.Markup(text)


def salt_json(value, sort_keys=True, indent=None):
    return jinja2.utils.markupsafe.Markup(json.dumps(value, sort_keys=sort_keys, indent=indent).strip())


class ImportYaml(jinja2.ext.Extension):
    """`{% import_yaml "path" as name %}`: the file rendered as a template, loaded as YAML."""

    tags = {"import_yaml"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        template = parser.parse_expression()
        parser.stream.expect("name:as")
        target = parser.parse_assign_target()
        call = self.call_method("_load", [template], lineno=lineno)
        return nodes.Assign(target, call, lineno=lineno)

    def _load(self, name):
        text = self.environment.get_template(name).render()
        return yaml.safe_load(text)


def jinja_raise(msg):
    raise RenderError(msg)


def make_env(tree, pillar, grains):
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(tree),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", ImportYaml],
    )
    env.filters["json"] = salt_json
    env.filters["tojson"] = salt_tojson
    # Salt's SerializerExtension (salt/utils/jinja.py): parses a JSON string.
    env.filters["load_json"] = lambda text: json.loads(str(text))
    env.globals.update(
        # Salt's `raise` global (salt/utils/jinja.py jinja_raise): fails the render with a message.
        **{"raise": jinja_raise},
        salt=SaltFunctions(salt_functions(pillar, grains)),
        grains=grains,
        pillar=pillar,
        opts={"id": grains.get("id"), "file_client": "local"},
        saltenv="base",
    )
    return env


def render_top(env, rel_path, **context):
    """Renders a template as Salt's render_jinja_tmpl does (salt/utils/templates.py): Jinja's
    default drops the trailing newline of every template, and Salt adds back the top one's only,
    so a template pulled in with {% include %} loses its last newline."""
    source, _, _ = env.loader.get_source(env, rel_path)
    output = env.get_template(rel_path).render(**context)
    if source.endswith("\n"):  # os.linesep on the Linux masters this tree runs on
        output += "\n"
    return output


def render_sls_text(env, rel_path, extra=None):
    tpldir = os.path.dirname(rel_path)
    sls = rel_path[:-4].replace("/", ".")
    if sls.endswith(".init"):
        sls = sls[: -len(".init")]
    context = {"tpldir": tpldir, "tplfile": rel_path, "sls": sls, "slspath": tpldir}
    context.update(extra or {})
    return render_top(env, rel_path, **context)


def sls_file(tree, name):
    base = name.replace(".", "/")
    for candidate in (base + ".sls", base + "/init.sls"):
        if os.path.isfile(os.path.join(tree, candidate)):
            return candidate
    raise RenderError("SLS %s not found (neither %s.sls nor %s/init.sls)" % (name, base, base))


def check_state(errors, sls, state_id, body):
    if not isinstance(body, dict):
        errors.append("%s: state %s is not a mapping" % (sls, state_id))
        return None
    calls = [k for k in body if "." in k and not k.startswith("__")]
    if len(calls) != 1 or len(body) != 1:
        errors.append("%s: state %s must have exactly one module.function key, has %s" % (sls, state_id, list(body)))
        return None
    call = calls[0]
    module, function = call.split(".", 1)
    if function not in KNOWN_STATE_FUNCTIONS.get(module, set()):
        errors.append("%s: state %s uses unknown %s" % (sls, state_id, call))
    items = body[call]
    if not isinstance(items, list):
        errors.append("%s: state %s: arguments of %s must be a list" % (sls, state_id, call))
        return None
    args = {}
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            errors.append("%s: state %s: argument %r is not a one-key mapping" % (sls, state_id, item))
            continue
        key, value = next(iter(item.items()))
        if key in args:
            errors.append("%s: state %s: argument %s given twice" % (sls, state_id, key))
        args[key] = value
    return {"module": module, "function": function, "args": args, "sls": sls}


def salt_contents(text, args):
    """What file.managed writes for `contents`/`contents_pillar`: every line ends with a newline
    (salt/states/file.py; the last one too, unless contents_newline is False)."""
    text = "".join(line.rstrip("\r") + "\n" for line in str(text).splitlines())
    return text if args.get("contents_newline", True) else text.rstrip("\n").rstrip("\r")


def render_highstate(request):
    tree = request["tree"]
    pillar = request["pillar"]
    grains = request["grains"]
    env = make_env(tree, pillar, grains)
    errors = []

    top = yaml.safe_load(render_sls_text(env, "top.sls"))
    roots = []
    for target, entries in (top or {}).get("base", {}).items():
        match = "glob"
        names = []
        for entry in entries:
            if isinstance(entry, dict) and "match" in entry:
                match = entry["match"]
            elif isinstance(entry, str):
                names.append(entry)
        if match == "glob":
            matched = fnmatch.fnmatch(grains["id"], target)
        elif match == "grain":
            key, _, value = target.rpartition(":")
            matched = str(path_get(grains, key, None)) == value
        else:
            raise RenderError("top.sls: matcher %s is not supported by the tests" % match)
        if matched:
            roots.extend(names)

    order, states, seen = [], {}, set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        rel = sls_file(tree, name)
        text = render_sls_text(env, rel)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RenderError("%s does not parse as YAML after rendering: %s\n%s" % (rel, exc, text))
        data = data or {}
        if not isinstance(data, dict):
            raise RenderError("%s renders to %s, not a mapping" % (rel, type(data).__name__))
        for include in data.pop("include", []) or []:
            if not isinstance(include, str):
                errors.append("%s: include entry %r is not a string" % (rel, include))
                continue
            visit(include)
        order.append(name)
        for state_id, body in data.items():
            if state_id in states:
                errors.append("%s: state ID %s already defined in %s" % (name, state_id, states[state_id]["sls"]))
                continue
            checked = check_state(errors, name, state_id, body)
            if checked:
                states[state_id] = checked

    for root in roots:
        visit(root)

    for state_id, state in states.items():
        for key, value in state["args"].items():
            if key not in REQUISITES:
                continue
            if not isinstance(value, list):
                errors.append("%s: %s must be a list" % (state_id, key))
                continue
            for ref in value:
                if not isinstance(ref, dict) or len(ref) != 1:
                    errors.append("%s: %s entry %r is not a one-key mapping" % (state_id, key, ref))
                    continue
                kind, target = next(iter(ref.items()))
                if kind == "sls":
                    if target not in order:
                        errors.append("%s: %s names sls %s, which is not in the highstate" % (state_id, key, target))
                    elif not any(other["sls"] == target for other in states.values()):
                        # Salt matches an sls requisite against the states the SLS declares
                        # itself, not those of the files it includes ("not found" at run time).
                        errors.append("%s: %s names sls %s, which declares no states of its own" % (state_id, key, target))
                elif target not in states:
                    errors.append("%s: %s names %s: %s, which does not exist" % (state_id, key, kind, target))
                elif states[target]["module"] != kind:
                    errors.append("%s: %s names %s: %s, which is a %s state" % (state_id, key, kind, target, states[target]["module"]))

    files = {}
    for state_id, state in states.items():
        args = state["args"]
        if state["module"] != "file":
            continue
        for pillar_arg in ("contents_pillar",):
            if pillar_arg in args and path_get(pillar, args[pillar_arg], None) in (None, ""):
                errors.append("%s: %s %s is not in this minion's pillar" % (state_id, pillar_arg, args[pillar_arg]))
        if state["function"] != "managed":
            continue
        path = args.get("name", state_id)
        entry = {"state": state_id, "mode": str(args.get("mode", "")), "source": args.get("source")}
        source = args.get("source")
        if source:
            if not source.startswith("salt://"):
                errors.append("%s: source %s is not a salt:// URL" % (state_id, source))
                continue
            rel = source[len("salt://"):]
            if not os.path.isfile(os.path.join(tree, rel)):
                errors.append("%s: source %s does not exist in the tree" % (state_id, source))
                continue
            if args.get("template") == "jinja":
                context = dict(args.get("defaults") or {})
                context.update(args.get("context") or {})
                context.update({"source": source, "tpldir": os.path.dirname(rel), "sls": state["sls"]})
                entry["content"] = render_top(env, rel, **context)
            else:
                with open(os.path.join(tree, rel), encoding="utf-8") as handle:
                    entry["content"] = handle.read()
        elif "contents" in args:
            entry["content"] = salt_contents(args["contents"], args)
        elif "contents_pillar" in args:
            entry["content"] = salt_contents(path_get(pillar, args["contents_pillar"], ""), args)
        else:
            continue
        files[path] = entry

    return {"sls": order, "states": states, "files": files, "errors": errors}


def render_reactor(request):
    env = make_env(request["tree"], {}, {})
    # Reactors see only tag and data (and salt); no grains, no pillar.
    env.globals.pop("grains")
    env.globals.pop("pillar")
    text = render_top(env, request["file"], tag=request["tag"], data=request["data"])
    data = yaml.safe_load(text) or {}
    errors, reactions = [], {}
    if not isinstance(data, dict):
        raise RenderError("%s renders to %s, not a mapping" % (request["file"], type(data).__name__))
    for reaction_id, body in data.items():
        if not isinstance(body, dict) or len(body) != 1:
            errors.append("%s: %r must have exactly one kind.function key" % (reaction_id, body))
            continue
        call, items = next(iter(body.items()))
        kind, _, function = call.partition(".")
        if kind not in REACTION_KINDS or not function:
            errors.append("%s: %s is not local./runner./wheel./caller." % (reaction_id, call))
            continue
        args = {}
        for item in items or []:
            if not isinstance(item, dict) or len(item) != 1:
                errors.append("%s: argument %r is not a one-key mapping" % (reaction_id, item))
                continue
            key, value = next(iter(item.items()))
            args[key] = value
        if kind in ("runner", "wheel"):
            if set(args) != {"args"} or not isinstance(args["args"], list):
                errors.append("%s: %s reactions take their keyword arguments under args:" % (reaction_id, kind))
            else:
                flat = {}
                for item in args["args"]:
                    if not isinstance(item, dict) or len(item) != 1:
                        errors.append("%s: args entry %r is not a one-key mapping" % (reaction_id, item))
                        continue
                    flat.update(item)
                args = flat
        if kind == "local" and "tgt" not in args:
            errors.append("%s: local reactions need tgt" % reaction_id)
        if kind == "runner":
            wanted = KNOWN_RUNNER_FUNCTIONS.get(function)
            if wanted is None:
                errors.append("%s: runner %s is not one the tree may use" % (reaction_id, function))
            elif set(args) != wanted:
                errors.append("%s: runner %s takes %s, got %s" % (reaction_id, function, sorted(wanted), sorted(args)))
            elif function == "dc_forward.post":
                if not isinstance(args["path"], str) or not args["path"].startswith("/"):
                    errors.append("%s: path %r is not an absolute URL path" % (reaction_id, args["path"]))
                if not isinstance(args["data"], dict):
                    errors.append("%s: data is not a mapping (%r)" % (reaction_id, args["data"]))
        reactions[reaction_id] = {"kind": kind, "function": function, "args": args}
    return {"reactions": reactions, "errors": errors}


def render_template(request):
    env = make_env(request["tree"], request.get("pillar", {}), request.get("grains", {}))
    return {"content": render_top(env, request["file"], **request.get("context", {}))}


def main():
    request = json.load(sys.stdin)
    handlers = {"highstate": render_highstate, "reactor": render_reactor, "template": render_template}
    try:
        answer = handlers[request["mode"]](request)
    except (RenderError, jinja2.TemplateError, yaml.YAMLError) as exc:
        answer = {"fatal": "%s: %s" % (type(exc).__name__, exc)}
    json.dump(answer, sys.stdout, default=str)


if __name__ == "__main__":
    main()
