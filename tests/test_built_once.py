"""support.built_once: a session fixture's folder built once per pytest run, by one process even
under -n, and built again after a build that failed."""
import os

import pytest

from support import built_once

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

TESTS = '''
import sys
sys.path.insert(0, %r)

import pytest

from support import built_once


@pytest.fixture(scope='session')
def built(tmp_path_factory):
  def build(folder):
    with open(%r, 'a') as log:
      log.write('built in %%s\\n' %% folder)
    (folder / 'made').write_text('x')
    return {'words': ['a', 'b']}
  return built_once.folder(tmp_path_factory, 'shared', build)


@pytest.mark.parametrize('i', range(4))
def test_uses_it(built, i):
  folder, value = built
  assert (folder / 'made').read_text() == 'x' and value == {'words': ['a', 'b']}
'''


def test_two_workers_share_one_build(pytester, tmp_path):
  log = tmp_path / 'builds.log'
  pytester.makepyfile(test_shared=TESTS % (TESTS_DIR, str(log)))
  result = pytester.runpytest_subprocess('-n', '2', '--dist', 'worksteal', '-p', 'no:randomly',
                                         '-p', 'no:cacheprovider')
  result.assert_outcomes(passed=4)
  assert len(log.read_text().splitlines()) == 1, log.read_text()


def test_a_failed_build_is_built_again_in_a_fresh_folder(tmp_path_factory, tmp_path):
  name = 'once_' + tmp_path.name  # (the run's folder is shared by every test of the run)
  builds = []

  def failing(folder):
    (folder / 'half').write_text('')
    raise RuntimeError('build failed')

  def build(folder):
    builds.append(sorted(os.listdir(folder)))
    return [1, 'two']

  with pytest.raises(RuntimeError, match='build failed'):
    built_once.folder(tmp_path_factory, name, failing)
  folder, value = built_once.folder(tmp_path_factory, name, build)
  assert value == [1, 'two'] and builds == [[]]     # no half-built leftovers
  assert built_once.folder(tmp_path_factory, name, build) == (folder, value)
  assert builds == [[]]
