"""Real progressions from well-known songs and standards, as a musician writes them on a lead sheet.

Each :class:`Song` is one section (the chord changes only: chord progressions are common
musical facts). ``bars`` is lead-sheet text: ``|`` between bars, chords inside a bar share
it evenly (``| Dm7 G7 |`` is two beats each in 4/4). Symbols are written the way the chart
or the record has them (``D7#11``, ``E7#9``, ``F5``, ``Bdim7``, ``C/E``); the label a
musician expects is the vocabulary's name for it (``midi.symbol_mapping.map_symbol``).
``styles`` lists the realisations that fit the piece (see ``realise.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

BLOCK, ARPEGGIO, MELODY, WALKING, FOUR_PART = "block", "arpeggio", "melody-on-top", "walking bass", "four-part"
POP = (BLOCK, ARPEGGIO, MELODY)
JAZZ = (BLOCK, MELODY, WALKING)


@dataclass(frozen=True)
class Song:
    title: str
    bars: str
    styles: tuple[str, ...]
    beats_per_bar: float = 4.0

    def chords(self) -> tuple[tuple[str, float, float], ...]:
        """``(symbol, start_beat, beats)`` for every chord."""
        out: list[tuple[str, float, float]] = []
        for b, bar in enumerate(x for x in self.bars.split("|") if x.strip()):
            symbols = bar.split()
            each = self.beats_per_bar / len(symbols)
            for k, sym in enumerate(symbols):
                out.append((sym, b * self.beats_per_bar + k * each, each))
        return tuple(out)


SONGS: tuple[Song, ...] = (
    # --- pop, rock, folk -----------------------------------------------------------------
    Song("Let It Be (verse)", "| C G | Am F | C G | F C |", POP + (FOUR_PART,)),
    Song("Pachelbel's Canon", "| D A | Bm F#m | G D | G A |", POP),
    Song("Canon, bass line voiced", "| D A/C# | Bm F#m/A | G D/F# | G A |", (FOUR_PART,)),
    Song("Stand By Me", "| A | A | F#m | F#m | D | E | A | A |", POP),
    Song("Don't Stop Believin'", "| E B | C#m A | E B | G#m A |", POP),
    Song("Hotel California (verse)", "| Bm | F# | A | E | G | D | Em | F#7 |", POP),
    Song("Hallelujah (6/8)", "| C | Am | C | Am | F | G | C | G |", POP, beats_per_bar=3.0),
    Song("Piano Man (intro, 3/4)", "| C | G/B | F/A | C/G | F | C/E | D7/F# | G |", POP + (FOUR_PART,),
         beats_per_bar=3.0),
    Song("No Woman No Cry", "| C G/B | Am F | C F | C G |", POP),
    Song("Smells Like Teen Spirit", "| F5 Bb5 | Ab5 Db5 | F5 Bb5 | Ab5 Db5 |", (BLOCK, ARPEGGIO)),
    Song("Purple Haze", "| E7#9 | E7#9 | G A | E7#9 |", (BLOCK, ARPEGGIO)),
    Song("Creep", "| G | B | C | Cm |", POP),
    Song("Wonderwall", "| Em7 G | Dsus4 A7sus4 | Em7 G | Dsus4 A7sus4 |", (BLOCK, ARPEGGIO)),
    Song("I Will Survive", "| Am | Dm | G | Cmaj7 | Fmaj7 | Bm7b5 | E7 | E7 |", POP),
    Song("Bass walking down under one chord", "| C C/E | F F/A | G G/B | C C/G |", POP + (FOUR_PART,)),
    Song("Amazing Grace (3/4)", "| G | G | C/G | G | G | Em | D | D7 | G | G7/B | C | G | G/D | D7 | G | G |",
         (BLOCK, ARPEGGIO, FOUR_PART), beats_per_bar=3.0),
    Song("Chorale in C", "| C G/B | Am F/A | G7/B C | F G7 | C F | C/G G7 | C |", (FOUR_PART, BLOCK)),
    Song("Chorale in A minor", "| Am E/G# | Am C/G | F Dm/F | E E7 | Am Dm | E7/G# Am |", (FOUR_PART,)),
    # --- jazz standards ----------------------------------------------------------------------
    Song("Autumn Leaves (A)", "| Cm7 | F7 | Bbmaj7 | Ebmaj7 | Am7b5 | D7 | Gm | Gm |", JAZZ + (ARPEGGIO,)),
    Song("Fly Me to the Moon", "| Am7 | Dm7 | G7 | Cmaj7 | Fmaj7 | Bm7b5 | E7 | Am7 A7 |", JAZZ),
    Song("All the Things You Are", "| Fm7 | Bbm7 | Eb7 | Abmaj7 | Dbmaj7 | G7 | Cmaj7 | Cmaj7 |", JAZZ),
    Song("Blue Bossa", "| Cm7 | Cm7 | Fm7 | Fm7 | Dm7b5 | G7 | Cm7 | Cm7 |", JAZZ),
    Song("Take the A Train", "| C6 | C6 | D7#11 | D7#11 | Dm7 | G7 | C6 | Dm7 G7 |", JAZZ),
    Song("Blues in F", "| F7 | Bb7 | F7 | Cm7 F7 | Bb7 | Bdim7 | F7 | D7 | Gm7 | C7 | F7 D7 | Gm7 C7 |", JAZZ),
    Song("Rhythm changes (A)", "| Bbmaj7 G7 | Cm7 F7 | Dm7 G7 | Cm7 F7 | Fm7 Bb7 | Ebmaj7 Edim7 | Dm7 G7 | Cm7 F7 |",
         JAZZ),
    Song("Giant Steps", "| Bmaj7 D7 | Gmaj7 Bb7 | Ebmaj7 | Am7 D7 | Gmaj7 Bb7 | Ebmaj7 F#7 | Bmaj7 | Fm7 Bb7 |",
         JAZZ),
    Song("Satin Doll", "| Dm7 G7 | Dm7 G7 | Em7 A7 | Em7 A7 | Am7 D7 | Abm7 Db7 | Cmaj7 | Cmaj7 |", JAZZ),
    Song("Summertime", "| Am6 E7 | Am6 | Dm6 | Dm6 | Am6 | Bm7b5 E7 | Am6 | E7 |", JAZZ),
    Song("Someday My Prince Will Come (3/4)", "| Bbmaj7 | D7 | Ebmaj7 | G7 | Cm7 | G7 | Cm7 | F7 |", JAZZ,
         beats_per_bar=3.0),
    Song("Tune Up, extended voicings", "| Em9 | A13 | Dmaj9 | Dmaj9 | Dm9 | G7b9 | C6/9 | C6/9 |", JAZZ),
    Song("Minor ii-V-i", "| Dm7b5 | G7#9 | Cm6 | Cm6 | Fm9 | Bb13 | Ebmaj7 | Ebmaj7 |", JAZZ),
)
