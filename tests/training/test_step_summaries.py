"""Training's summaries ride with a step: fetched in the train op's own run, at the first step and
then on their clock, so they never run the input or the net's random ops a second time."""
from training.steps import StepFunction


class _Session:
  """Answers a step function's runs and notes what each run fetched."""

  def __init__(self):
    self.runs = []
    self.step = 0

  def run(self, fetches):
    if fetches == 'global_step':
      return self.step
    self.runs.append(fetches)
    self.step += 1
    return [0.5, {'accuracy': 1.0, 'learning_rate': 0.01}, b'summary'][:len(fetches)]


class _Writer:
  def __init__(self):
    self.written = []

  def add_summary(self, summary, step):
    self.written.append((summary, step))


def test_summaries_are_fetched_with_the_train_op_at_the_first_step_then_on_their_clock():
  # slim's summary thread ran the summary op on its own: it pulled a batch of its own and ran the
  # net's random ops again, so the batches and dropout masks training got depended on the clock.
  now = [0.0]
  step_fn = StepFunction({}, 4, 6, 100)
  step_fn.summary_op, step_fn.save_summaries_secs = 'summary_op', 10
  step_fn.clock = lambda: now[0]
  session, writer = _Session(), _Writer()
  for seconds in (0, 4, 9, 10, 12, 25):  # the clock at each of six steps
    now[0] = seconds
    step_fn(session, 'train_op', 'global_step', {'summary_writer': writer})
  assert [run[0] for run in session.runs] == ['train_op'] * 6  # never a run without training
  assert [len(run) == 3 and run[2] == 'summary_op' for run in session.runs] == [
      True, False, False, True, False, True]
  assert writer.written == [(b'summary', 1), (b'summary', 4), (b'summary', 6)]


def test_a_worker_without_a_writer_fetches_no_summaries():
  step_fn = StepFunction({}, 4, 2, 100)
  step_fn.summary_op, step_fn.save_summaries_secs = 'summary_op', 10
  session = _Session()
  for _ in range(2):
    step_fn(session, 'train_op', 'global_step', {})
  assert all(len(run) == 2 for run in session.runs)
