"""Run-time data of jasco-bridge (a data package: it holds files, no code to import).

- ``chord_vocabulary.tsv``: the official checkpoints' chord vocabulary with its provenance
  (read by ``midi.vocab.shipped_table`` through ``importlib.resources``);
- ``examples/*.mid``: the example MIDI files of the README (``assets/examples/make_examples.py``
  writes them; that script is not part of the installed package).
"""
