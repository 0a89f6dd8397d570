"""What the Python command-line tests share: run a tool and capture its
output, collect the expectations that fail (so one run reports them all), and
exit 1 listing them, or print `done` and exit 0."""
import subprocess
import sys

failures = []


def run(tool, *args, timeout=120):
    p = subprocess.run([tool, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def expect(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


def finish(done="ok"):
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(done)
