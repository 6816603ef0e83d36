"""
Test-only ``pkg`` execution module: the package database of a fresh Rocky 9 machine, for
`salt-call state.apply test=True` on Debian (test/helpers/saltCall.ts loads it with
``module_dirs``).

On Debian, with the grains overridden to Rocky 9, Salt's own ``pkg`` provider (yumpkg) does not
load: it needs dnf. Without any ``pkg`` module the ``pkg.installed`` states cannot be checked at
all, and every state that requires one fails with "One or more requisite failed". This module
stands in for the package database only: nothing the tree installs is installed, everything
is available. Salt's real ``pkg`` *state* module runs on top of it with the rendered arguments
(its argument parsing, ``pkgs`` validation and test-mode answer are Salt's). It never installs:
any call that would change the machine raises.

A test that applies states for real (not test=True) whose requisites include ``pkg.installed``
states declares those packages installed with the minion option ``dc_installed_pkgs`` (a list of
names; test/integration/salt-config-permissions.test.ts): Salt's ``pkg.installed`` then finds
them installed and changes nothing.
"""

__virtualname__ = "pkg"


def __virtual__():
    return __virtualname__


def _refuse(name):
    raise RuntimeError("test-only pkg module: %s would change the machine (test=True expected)" % name)


INSTALLED_VERSION = "1.0-1.el9"


def _installed():
    """Nothing the tree installs is installed yet, except what the minion option names."""
    return {name: INSTALLED_VERSION for name in __opts__.get("dc_installed_pkgs", [])}


def list_pkgs(versions_as_list=False, **kwargs):
    # As yumpkg.list_pkgs: RPM has no removed or purge-desired packages (dpkg's states).
    if kwargs.get("removed") or kwargs.get("purge_desired"):
        return {}
    installed = _installed()
    if versions_as_list:
        return {name: [version] for name, version in installed.items()}
    return installed


def version(*names, **kwargs):
    installed = _installed()
    if len(names) == 1:
        return installed.get(names[0], "")
    return {name: installed.get(name, "") for name in names}


def latest_version(*names, **kwargs):
    if len(names) == 1:
        return INSTALLED_VERSION
    return {name: INSTALLED_VERSION for name in names}


def normalize_name(name):
    return name


def install(name=None, refresh=False, pkgs=None, sources=None, **kwargs):
    _refuse("pkg.install")


def remove(name=None, pkgs=None, **kwargs):
    _refuse("pkg.remove")


def upgrade(*args, **kwargs):
    _refuse("pkg.upgrade")
