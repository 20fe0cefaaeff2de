"""The Graphs page: the training graph TensorBoard draws shows the net as the main graph.

TensorBoard's graph plugin draws the top level of name scopes as nodes and moves a node whose
in-degree or out-degree (distinct neighbours joined by data edges) is an outlier of the level
into "Auxiliary Nodes" (extractHighInOrOutDegree in tensorboard/plugins/graph/tf_graph_common:
in-degree > Q3 + (Q3 - Q1), out-degree > Q3 + 4 (Q3 - Q1), both at least 5, from 15 nodes on).
auxiliary() applies that rule to the graph training wrote, with the numbered series TensorBoard
groups (zero_fraction_1, _2, ...) taken as one node.
"""
import collections
import glob
import os
import re

import tensorflow as tf

SUMMARY_OPS = ('ScalarSummary', 'HistogramSummary', 'ImageSummary')


def written_graph(log_dir):
  for path in sorted(glob.glob(os.path.join(log_dir, 'events.out.tfevents.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      if event.HasField('graph_def'):
        return tf.compat.v1.GraphDef.FromString(event.graph_def)
  raise AssertionError('no graph in the event files of %s' % log_dir)


def top_level(name):
  return re.sub(r'_\d+$', '', name.lstrip('^').split(':')[0].split('/')[0])


def auxiliary(graph_def):
  """(top-level nodes, the ones TensorBoard's rule moves into Auxiliary Nodes)."""
  inputs, outputs = collections.defaultdict(set), collections.defaultdict(set)
  nodes = set()
  for node in graph_def.node:
    target = top_level(node.name)
    nodes.add(target)
    for source in (top_level(i) for i in node.input if not i.startswith('^')):
      if source != target:
        outputs[source].add(target)
        inputs[target].add(source)
  nodes = sorted(nodes)
  if len(nodes) < 15:
    return nodes, set()

  def outliers(degree, factor):
    ordered = sorted(len(degree[n]) for n in nodes)
    q3, q1 = ordered[round(len(nodes) * 0.75)], ordered[round(len(nodes) * 0.25)]
    bound = max(q3 + (q3 - q1) * factor, 4)
    return {n for n in nodes if len(degree[n]) > bound}

  return nodes, outliers(inputs, 1) | outliers(outputs, 4)


def test_the_net_is_the_main_graph_and_the_summaries_one_node_beside_it(trained):
  graph_def = written_graph(trained.train_dir)
  nodes, extracted = auxiliary(graph_def)
  assert {'alexnet_v2', 'clone', 'input', 'gradients', 'summaries'} <= set(nodes)
  assert len(nodes) <= 25, nodes
  assert not extracted & {'alexnet_v2', 'clone', 'input', 'gradients'}, extracted
  # Every layer of the training net in the net's scope (weights) and its clone's (the ops).
  convolutions = [n.name for n in graph_def.node if n.op == 'Conv2D']
  assert [c for c in convolutions if c.startswith('clone_0/alexnet_v2/conv')]
  assert not [c for c in convolutions
              if not c.startswith(('clone_0/alexnet_v2/', 'summaries/', 'gradients/'))]
  assert not [n.name for n in graph_def.node if n.op in ('VariableV2', 'VarHandleOp')
              and 'conv' in n.name and not n.name.startswith('alexnet_v2/')]
  # Each summary under summaries/ (but the input pipeline's own, under input/).
  summaries = [n.name for n in graph_def.node if n.op in SUMMARY_OPS]
  assert len(summaries) > 20
  assert not [s for s in summaries if not s.startswith(('summaries/', 'input/'))]
