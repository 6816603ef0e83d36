#!/usr/bin/python3
# Managed by Salt (Dynamic Cluster): /usr/local/bin/qsub, in front of Slurm's /usr/bin/qsub.
"""qsub for Torque users' job scripts on Slurm.

Slurm's qsub (Debian's slurm-wlm-torque, EPEL's slurm-torque) turns qsub's command line into an
sbatch command, and sbatch reads the script's #PBS lines itself. But that command always names
the output and error files (<script>.o<id>, <script>.e<id> when the command line gives none), and
a command-line option wins over a directive: a script's `#PBS -o`, `#PBS -e` and `#PBS -j oe`
would be ignored, and its default files named after the script instead of its `#PBS -N`. Torque
reads those from the script unless the command line gives them. So does this: it copies the
directives -N, -o, -e and -j from the script (the #PBS lines before its first command, as
Torque reads them) to the front of the command line when the command line does not have them,
then runs Slurm's qsub with everything else unchanged.
"""
import os
import shlex
import sys

SLURM_QSUB = os.environ.get("DC_SLURM_QSUB", "/usr/bin/qsub")

# Slurm's qsub options (its Getopt::Long specification) by what follows them.
WITH_VALUE = {"a", "A", "b", "e", "J", "l", "m", "M", "N", "o", "p", "P", "q", "r", "S", "t", "v",
              "wd", "W"}
OPTIONAL_VALUE = {"j"}
TWO_VALUES = {"pe"}
# The directives Slurm's qsub would override, in the order they are copied.
COPIED = ("N", "o", "e", "j")


def read_command_line(args):
    """The option names the command line gives, and the script's path (None without one)."""
    given = set()
    script = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            if script is None and i + 1 < len(args):
                script = args[i + 1]
            break
        if arg.startswith("-") and len(arg) > 1:
            name, has_value, _ = arg.lstrip("-").partition("=")
            given.add(name)
            if not has_value:
                if name in WITH_VALUE:
                    i += 1
                elif name in TWO_VALUES:
                    i += 2
                elif name in OPTIONAL_VALUE and i + 1 < len(args) and \
                        not args[i + 1].startswith("-"):
                    i += 1
        elif script is None:
            script = arg
        i += 1
    return given, script


def read_directives(path):
    """The script's -N, -o, -e and -j directives (the first of each), as Torque reads them."""
    found = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as script:
            for line in script:
                text = line.strip()
                if not text or (text.startswith("#") and not text.startswith("#PBS")):
                    continue
                if not text.startswith("#PBS"):
                    break  # the first command: Torque reads no directive after it
                try:
                    words = shlex.split(text[len("#PBS"):], comments=True)
                except ValueError:
                    continue
                i = 0
                while i < len(words):
                    name = words[i].lstrip("-")
                    value = words[i + 1] if i + 1 < len(words) else ""
                    if name in COPIED and name not in found and words[i].startswith("-"):
                        found[name] = value
                    i += 2 if name in WITH_VALUE or name in OPTIONAL_VALUE else 1
    except OSError:
        return {}  # Slurm's qsub says what is wrong with the path
    return found


def main(args):
    given, script = read_command_line(args)
    copied = []
    if script is not None:
        directives = read_directives(script)
        for name in COPIED:
            value = directives.get(name, "")
            if name == "j" and name in directives:
                value = value or "oe"  # Torque's -j takes a value; never let it take the next word
            if value and name not in given:
                copied += ["-" + name, value]
    os.execv(SLURM_QSUB, [SLURM_QSUB] + copied + args)


if __name__ == "__main__":
    main(sys.argv[1:])
