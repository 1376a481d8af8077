"""A chord corpus written for this project: real progressions (``songs.py``) realised five
ways (``realise.py``), real printed symbols (``symbols.py``), and the per-category score
(``evaluate.py``) that ``bench/midi.py`` prints and ``tests/midi/test_corpus.py`` holds to a floor."""

from .evaluate import CATEGORIES, Score, evaluate, score_symbols
from .songs import SONGS, Song
from .symbols import SYMBOLS

__all__ = ["CATEGORIES", "SONGS", "SYMBOLS", "Score", "Song", "evaluate", "score_symbols"]
