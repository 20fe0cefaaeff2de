"""The shell commands README.md prints, read from its ```sh blocks, made small and run as a user
would run them (tests/e2e/test_readme_commands.py).

  commands = readme_commands.section_commands('Quick start')   # [['.venv/bin/python',
                                                                 #   'train_alexnet.py', ...], ...]
  command = readme_commands.shrink(command, {'--max_number_of_steps': '2'}, ['--batch_size=4'])
  result = readme_commands.run(command, cwd=tmp_path)

A section's commands are those of its ```sh blocks (indented ones too) that run one of the
suite's scripts with `python`, `python3` or `.venv/bin/python`: continuation lines joined, `&&`
chains split, comments dropped. Setting up a venv, pip and pytest are not the suite's scripts.
"""
import os
import re
import shlex
import subprocess
import sys

from support.scripts import ROOT

README = os.path.join(ROOT, 'README.md')
PYTHONS = ('python', 'python3')
_FENCE = re.compile(r'^( *)```sh\n(.*?)^\1```', re.S | re.M)


def scripts():
  """The suite's scripts: the .py files at the top of the repository."""
  return sorted(name for name in os.listdir(ROOT) if name.endswith('.py'))


def section(title, path=README):
  """The text of README's `## title` section, up to the next `## ` heading."""
  with open(path, encoding='utf-8') as f:
    text = f.read()
  match = re.search(r'^## %s\n(.*?)(?=^## |\Z)' % re.escape(title), text, re.S | re.M)
  if not match:
    raise AssertionError('README.md has no section "## %s"' % title)
  return match.group(1)


def shell_commands(block):
  """[argv] of a shell block: `\\` continuations joined, `&&` chains split, comments dropped."""
  commands = []
  for line in block.replace('\\\n', ' ').splitlines():
    words = shlex.split(line, comments=True)
    while words:
      end = words.index('&&') if '&&' in words else len(words)
      commands.append(words[:end])
      words = words[end + 1:]
  return [command for command in commands if command]


def section_commands(title, path=README):
  """[argv] of the commands of a README section that run the suite's scripts, in order."""
  names = scripts()
  return [command for _, block in _FENCE.findall(section(title, path))
          for command in shell_commands(block)
          if len(command) > 1 and os.path.basename(command[0]) in PYTHONS
          and command[1] in names]


def tensorboard_logdirs(text):
  """The --logdir of each `tensorboard` command in text (a README section, a script's output)."""
  return re.findall(r'tensorboard --logdir=(\S+)', text)


def flag_value(command, flag):
  """The value of --flag=value in command; None when absent."""
  values = [word.split('=', 1)[1] for word in command if word.startswith(flag + '=')]
  return values[-1] if values else None


def shrink(command, values, extra=(), drop=()):
  """command with each --flag of `values` given that value, or the value a callable makes of
  the command's (each flag must be in the command: what the README prints is what runs, only
  smaller), the words of `drop` left out and `extra` appended."""
  shrunk = []
  for word in command:
    flag, _, value = word.partition('=')
    if flag in values:
      new = values[flag]
      word = '%s=%s' % (flag, new(value) if callable(new) else new)
    if word not in drop:
      shrunk.append(word)
  missing = [flag for flag in values if flag_value(command, flag) is None]
  if missing:
    raise AssertionError('%s not in %s' % (', '.join(missing), ' '.join(command)))
  return shrunk + list(extra)


def run(command, cwd, timeout=600):
  """Runs a README command (`python <script> ...`) in cwd with this Python and the repository's
  script; the CompletedProcess."""
  return subprocess.run([sys.executable, os.path.join(ROOT, command[1])] + command[2:], cwd=cwd,
                        capture_output=True, text=True, timeout=timeout)
