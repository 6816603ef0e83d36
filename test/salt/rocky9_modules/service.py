"""
Test-only ``service`` execution module: the systemd of a fresh Rocky 9 machine, for
`salt-call state.apply test=True` on a Debian test machine without systemd as PID 1
(test/helpers/saltCall.ts loads it with ``module_dirs``).

Salt's service providers (systemd_service, rh_service) do not load there, so without this no
``service.*`` state can be checked. It answers as systemd would before the packages are in:
every unit is known, none is running or enabled. Salt's real ``service`` *state* module runs on
top of it with the rendered arguments. Any call that would change the machine raises.
"""

__virtualname__ = "service"


def __virtual__():
    return __virtualname__


def _refuse(name):
    raise RuntimeError("test-only service module: %s would change the machine (test=True expected)" % name)


def available(name):
    return True


def missing(name):
    return False


def get_all():
    return []


def status(name, sig=None):
    return False


def enabled(name, **kwargs):
    return False


def disabled(name):
    return True


def masked(name, runtime=False):
    return False


def start(name, **kwargs):
    _refuse("service.start")


def stop(name, **kwargs):
    _refuse("service.stop")


def restart(name, **kwargs):
    _refuse("service.restart")


def reload(name, **kwargs):
    _refuse("service.reload")


def enable(name, **kwargs):
    _refuse("service.enable")


def disable(name, **kwargs):
    _refuse("service.disable")
