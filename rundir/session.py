"""Session configuration: devices, GPU memory, threads, mixed precision."""
import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from base import UserError
from rundir.devices import EVAL_DEVICES
from rundir.devices import PRECISIONS

BF16_CPU_FLAGS = ('avx512_bf16', 'amx_bf16')


def num_gpus():
  return len(tf.config.list_physical_devices('GPU'))


def cpu_flags(cpuinfo='/proc/cpuinfo'):
  try:
    with open(cpuinfo) as f:
      for line in f:
        if line.startswith('flags'):
          return set(line.split(':', 1)[1].split())
  except OSError:
    pass
  return set()


def resolve_precision(precision, gpus, flags):
  """The precision `auto` stands for: bf16 on a machine with no GPU whose CPU has AVX512-BF16 or
  AMX (the oneDNN rewrite runs there at about 1.5x fp32), fp32 elsewhere (on GPUs fp16 is asked
  for by name: it changes the numbers more than bf16 does). Any other precision is itself."""
  if precision != 'auto':
    return precision
  return 'bf16' if gpus == 0 and flags.intersection(BF16_CPU_FLAGS) else 'fp32'


def check_precision(precision, gpus, flags):
  """Raises UserError when the hardware cannot run `precision`."""
  if precision not in PRECISIONS:
    raise UserError('unknown --precision "%s"; choose one of %s'
                    % (precision, ', '.join(PRECISIONS)))
  if precision == 'bf16' and not flags.intersection(BF16_CPU_FLAGS):
    raise UserError('--precision=bf16 needs a CPU with AVX512-BF16 or AMX (this one has neither); '
                    'use --precision=fp32')
  if precision == 'fp16' and gpus == 0:
    raise UserError('--precision=fp16 needs a GPU (none is visible); use --precision=fp32, or bf16 '
                    'on a CPU with AVX512-BF16/AMX')


def session_config(precision='fp32', log_device_placement=False, inter_op_threads=0,
                   intra_op_threads=0):
  """ConfigProto: soft placement, GPU memory that grows as needed (so eval can share the card),
  and the automatic mixed-precision graph rewrite for bf16 (oneDNN, CPU) or fp16 (GPU).
  The rewrite keeps the master weights in fp32 and casts inside the step."""
  config = tf.compat.v1.ConfigProto(allow_soft_placement=True,
                                    log_device_placement=log_device_placement,
                                    inter_op_parallelism_threads=inter_op_threads,
                                    intra_op_parallelism_threads=intra_op_threads)
  config.gpu_options.allow_growth = True
  rewrites = config.graph_options.rewrite_options
  if precision == 'bf16':
    rewrites.auto_mixed_precision_onednn_bfloat16 = rewriter_config_pb2.RewriterConfig.ON
  elif precision == 'fp16':
    rewrites.auto_mixed_precision = rewriter_config_pb2.RewriterConfig.ON
  return config


def eval_session_config(eval_device):
  """session_config (soft placement, GPU memory that grows); cpu hides the GPUs."""
  config = session_config()
  if eval_device == 'cpu':
    config.device_count['GPU'] = 0
  return config


def eval_model_device(eval_device):
  """Where evaluation puts the net: None (auto) lets TensorFlow pick the GPU when there is one."""
  if eval_device == 'cpu':
    return '/cpu:0'
  if eval_device == 'gpu':
    if num_gpus() == 0:
      raise UserError('--eval_device=gpu but no GPU is visible; use --eval_device=cpu or auto')
    return '/gpu:0'
  if eval_device != 'auto':
    raise ValueError('unknown eval_device "%s"; choose one of %s'
                     % (eval_device, ', '.join(EVAL_DEVICES)))
  return None
